'use strict';
// Predictor.predictStream: results in input order, batched into predict() calls by size (flushTexts) and by time
// (flushMs after a batch's first text), the source's error after the results before it, an early break that stops
// the reading and the batches, and an AbortSignal; predict(texts, { signal }) too. The run is the binary lora fixture
// on a tiny random base: this checks the plumbing, not accuracy.
const test = require('ava');
const path = require('path');
const { setTimeout: sleep } = require('timers/promises');
const { Predictor } = require('../../dist');
const { FIXTURES, tinyBases } = require('../helpers/util');

const TEXTS = Array.from({ length: 10 }, (_, i) => `第${i}条微博${'好'.repeat(i)}`);
let predictor;
let calls; // the texts of each predict() call

test.before(async () => {
  const { causal } = await tinyBases(7);
  predictor = new Predictor({
    checkpoint: path.join(FIXTURES, 'runs-binary', 'lora'),
    model: causal,
    device: 'cpu',
    dtype: 'float32',
  });
  await predictor.load();
  const predict = predictor.predict.bind(predictor);
  predictor.predict = (texts, options) => {
    if (Array.isArray(texts)) calls.push(texts);
    return predict(texts, options);
  };
});
test.beforeEach(() => (calls = []));
test.after.always(() => predictor?.dispose());

async function* slowly(texts, pauses = {}) {
  for (let i = 0; i < texts.length; i++) {
    if (pauses[i]) await sleep(pauses[i]);
    yield texts[i];
  }
}

const collect = async (stream) => {
  const out = [];
  for await (const p of stream) out.push(p);
  return out;
};

test.serial('results come in input order, in batches of flushTexts, as predict() gives them', async (t) => {
  const whole = await predictor.predict(TEXTS);
  calls = [];
  const got = await collect(predictor.predictStream(slowly(TEXTS), { flushTexts: 3, flushMs: 10_000 }));
  t.deepEqual(
    got.map((p) => p.text),
    TEXTS
  );
  t.deepEqual(
    calls.map((c) => c.length),
    [3, 3, 3, 1]
  );
  got.forEach((p, i) => {
    t.is(p.label, whole[i].label);
    t.true(Math.abs(p.confidence - whole[i].confidence) < 1e-4, `${i}: ${p.confidence} vs ${whole[i].confidence}`);
  });
  // A plain array is a source too.
  t.deepEqual(
    (await collect(predictor.predictStream(TEXTS.slice(0, 2)))).map((p) => p.text),
    TEXTS.slice(0, 2)
  );
});

test.serial('a batch goes flushMs after its first text, and its results before later texts arrive', async (t) => {
  const produced = [];
  async function* source() {
    for (const [i, pause] of [
      [0, 0],
      [1, 0],
      [2, 400],
    ]) {
      await sleep(pause);
      produced.push(i);
      yield TEXTS[i];
    }
  }
  const seen = [];
  for await (const p of predictor.predictStream(source(), { flushTexts: 64, flushMs: 50 })) {
    seen.push({ text: p.text, producedSoFar: produced.length });
  }
  t.deepEqual(
    calls.map((c) => c.length),
    [2, 1]
  );
  t.deepEqual(
    seen.map((s) => s.text),
    TEXTS.slice(0, 3)
  );
  t.is(seen[0].producedSoFar, 2, 'the first two results came before the third text was read');
});

test.serial('a failing source: the results before the failure, then its error', async (t) => {
  async function* failing() {
    yield TEXTS[0];
    yield TEXTS[1];
    throw new Error('the source broke');
  }
  const got = [];
  const e = await t.throwsAsync(async () => {
    for await (const p of predictor.predictStream(failing(), { flushTexts: 8, flushMs: 5 })) got.push(p.text);
  });
  t.is(e.message, 'the source broke');
  t.deepEqual(got, TEXTS.slice(0, 2));

  const typed = await t.throwsAsync(collect(predictor.predictStream(slowly(['a', 'b', 3]), { flushTexts: 8 })));
  t.true(typed instanceof TypeError);
  t.regex(typed.message, /texts\[2\]/);
  t.throws(() => predictor.predictStream(TEXTS, { flushTexts: 0 }), { message: /flushTexts/ });
  t.throws(() => predictor.predictStream(TEXTS, { flushMs: 5, flushEvery: 1 }), { message: /flushEvery/ });
  t.throws(() => predictor.predictStream(42), { instanceOf: TypeError });
});

test.serial('breaking out early stops the reading and starts no further batch', async (t) => {
  let read = 0;
  let released = false;
  async function* endless() {
    try {
      for (;;) {
        read++;
        yield `无尽的微博 ${read}`;
        await sleep(1);
      }
    } finally {
      released = true;
    }
  }
  for await (const p of predictor.predictStream(endless(), { flushTexts: 4, flushMs: 1000 })) {
    t.is(p.text, '无尽的微博 1');
    break;
  }
  await sleep(100);
  t.true(released, "the source's finally ran");
  const readAtBreak = read;
  const callsAtBreak = calls.length;
  await sleep(100);
  t.is(calls.length, callsAtBreak, 'no predict() call after the break');
  t.is(callsAtBreak, 1);
  t.is(read, readAtBreak, 'nothing read after the break');
  t.true(read <= 8, `read ${read} texts: at most one batch ahead`);
});

test.serial('an AbortSignal ends predictStream and predict with its reason', async (t) => {
  const controller = new AbortController();
  async function* stalled() {
    yield TEXTS[0];
    await sleep(10_000);
    yield TEXTS[1];
  }
  const got = [];
  setTimeout(() => controller.abort(), 200);
  // Node's AbortError is a DOMException (an Error to users, not to t.throwsAsync).
  const caught = async (work) =>
    work.then(
      () => undefined,
      (e) => e
    );
  const e = await caught(
    (async () => {
      for await (const p of predictor.predictStream(stalled(), { flushMs: 20, signal: controller.signal }))
        got.push(p.text);
    })()
  );
  t.is(e?.name, 'AbortError');
  t.deepEqual(got, [TEXTS[0]]);

  const reason = new Error('changed my mind');
  t.is(await t.throwsAsync(predictor.predict(TEXTS, { signal: AbortSignal.abort(reason) })), reason);
  const during = new AbortController();
  const many = Array.from({ length: 600 }, (_, i) => TEXTS[i % TEXTS.length]);
  calls = [];
  const pending = predictor.predict(many, { signal: during.signal });
  during.abort();
  t.is((await caught(pending))?.name, 'AbortError');
  const { tokensRun } = predictor.stats();
  await sleep(300);
  t.is(predictor.stats().tokensRun, tokensRun, 'no work started after the abort');
  t.is((await caught(predictor.predict(TEXTS.slice(0, 2), { signal: during.signal })))?.name, 'AbortError');
  t.is((await predictor.predict(TEXTS.slice(0, 2), {})).length, 2);
});
