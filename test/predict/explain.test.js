'use strict';
// Predictor.explain: token attributions as spans of the post (the core's integrated gradients are checked against
// the float64 golden in test/numerics/attribution.test.js). A run trained to key on one planted word must give that
// word the largest attribution.
const test = require('ava');
const path = require('path');
const { Predictor, Trainer } = require('../../dist');
const { tmpDir, weiboData, weiboLines, tinyBases } = require('../helpers/util');

const WORD = '榴莲';
const bases = tinyBases(5);
const posts = weiboData(weiboLines(300)).texts.map((t) => t.slice(0, 12));

/** Seeded: `text` with WORD at a position drawn from `next`. */
function plant(text, next) {
  const at = Math.floor(next() * (text.length + 1));
  return text.slice(0, at) + WORD + text.slice(at);
}

function seeded(seed) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** A run of each method trained on 240 short posts, label 1 exactly when WORD is in the post. Trained one after
 * another: Trainers running at once in one process draw their initial weights from one generator in turn. */
const SETTINGS = {
  full: { learningRate: 1e-3, epochs: 3 },
  'lora-head': { learningRate: 1e-2, epochs: 4 },
  embedding: { learningRate: 1e-2, epochs: 3 },
};
const runs = {};
test.before(async () => {
  for (const [method, settings] of Object.entries(SETTINGS)) runs[method] = await trainPlanted(method, settings);
});

async function trainPlanted(method, settings) {
  const { causal, embedding } = await bases;
  const next = seeded(1);
  const data = { texts: [], labels: [] };
  posts.slice(0, 240).forEach((t, i) => {
    data.texts.push(i % 2 ? plant(t, next) : t);
    data.labels.push(i % 2);
  });
  const output = path.join(tmpDir(), 'run');
  await new Trainer({
    method,
    model: method === 'embedding' ? embedding : causal,
    output,
    device: 'cpu',
    dtype: 'float32',
    batchSize: 16,
    maxLength: 32,
    ...settings,
    cacheDir: tmpDir(),
  }).train(data);
  return output;
}

for (const method of ['full', 'lora-head']) {
  test(`${method}: a run trained to key on one planted word gives that word the largest attribution`, async (t) => {
    const predictor = new Predictor({
      checkpoint: runs[method],
      device: 'cpu',
      dtype: 'float32',
    });
    const next = seeded(2);
    let wins = 0;
    const held = posts.slice(240, 260);
    for (const post of held) {
      const text = plant(post, next);
      const e = await predictor.explain(text, { label: 1 });
      const best = e.tokens.reduce((b, s) => (s.score > b.score ? s : b));
      const at = text.indexOf(WORD);
      if (best.start < at + WORD.length && best.end > at) wins++;
    }
    t.log(`the planted word's span scored highest in ${wins} of ${held.length} held-out posts`);
    t.true(wins >= 18, `${wins} of ${held.length}`);
    predictor.dispose();
  });
}

test('spans cover the post in order, whole characters (an emoji split between tokens is one span), in the text as given', async (t) => {
  const run = runs['lora-head'];
  const predictor = new Predictor({ checkpoint: run, device: 'cpu', dtype: 'float32' });
  // embedding reads the post inside its instruction's query: the spans are still the post's.
  const embedding = new Predictor({ checkpoint: runs.embedding, device: 'cpu', dtype: 'float32' });
  for (const [text, p] of ['今天天气真好，我很开心😀！', 'ok 👍🏻 好的', '榴莲', ':开头', '榴莲'].flatMap((text) => [
    [text, predictor],
    [text, embedding],
  ])) {
    const e = await p.explain(text);
    t.is(e.tokens.map((s) => s.text).join(''), text);
    let at = 0;
    for (const s of e.tokens) {
      t.is(s.start, at);
      t.is(text.slice(s.start, s.end), s.text);
      t.true(Number.isFinite(s.score));
      at = s.end;
    }
    const prediction = await p.predict(text);
    t.is(e.label, prediction.label);
    t.true(e.predicted);
    t.is(e.probability, prediction.confidence);
  }
  embedding.dispose();
  t.true((await predictor.explain('今天天气真好，我很开心😀！')).tokens.some((s) => s.text === '😀'));
  // The other label, by id and by name: the same label, and the probabilities sum to 1.
  const text = '看《流星花园》其实也还好啦';
  const byName = await predictor.explain(text, { label: '负面', steps: 8 });
  const byId = await predictor.explain(text, { label: 0, steps: 8 });
  t.deepEqual(byName, byId);
  t.is(byName.steps, 8);
  const other = await predictor.explain(text, { label: 1, steps: 8 });
  t.true(Math.abs(other.probability + byName.probability - 1) < 1e-6);
  t.not(other.predicted, byName.predicted);
  // Nothing of the post to attribute.
  t.deepEqual((await predictor.explain('')).tokens, []);
  predictor.dispose();
});

test('explain validates its arguments, listing the labels, and refuses after dispose', async (t) => {
  const run = runs['lora-head'];
  const predictor = new Predictor({ checkpoint: run, device: 'cpu', dtype: 'float32' });
  await t.throwsAsync(() => predictor.explain('好', { label: '中性' }), {
    message: /one of the run's labels, 0 \(负面\), 1 \(正面\), but received "中性"/,
  });
  await t.throwsAsync(() => predictor.explain('好', { label: 2 }), { instanceOf: RangeError });
  await t.throwsAsync(() => predictor.explain('好', { steps: 0 }), { message: /steps/ });
  await t.throwsAsync(() => predictor.explain(42), { instanceOf: TypeError });
  const controller = new AbortController();
  controller.abort(new Error('stop'));
  await t.throwsAsync(() => predictor.explain('好', { signal: controller.signal }), { message: 'stop' });
  predictor.dispose();
  await t.throwsAsync(() => predictor.explain('好'), { message: /^explain: the predictor was disposed/ });
});
