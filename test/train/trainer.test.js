'use strict';
// Training on tiny random models with real Weibo posts: every method learns, saves, reloads and resumes exactly.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { Trainer, Predictor } = require('../../dist');
const { readSafetensors } = require('../helpers/safetensors');
const { tinyBases, tmpDir, weiboData, weiboLines } = require('../helpers/util');

const lines = weiboLines(160);
const data = weiboData(lines);

let causalDir;
let embeddingDir;
test.before(async () => {
  ({ causal: causalDir, embedding: embeddingDir } = await tinyBases(7));
});

const common = (method, extra = {}) => ({
  method,
  model: method === 'embedding' ? embeddingDir : causalDir,
  output: path.join(tmpDir(), 'run'),
  device: 'cpu',
  dtype: 'float32',
  maxLength: 48,
  batchSize: 16,
  seed: 3,
  cacheDir: tmpDir(),
  ...extra,
});

function lossCurve(trainer) {
  const losses = [];
  trainer.on('progress', (p) => losses.push(p.loss));
  return losses;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const LEARNING = {
  lora: { epochs: 3, learningRate: 5e-3 },
  'lora-head': { epochs: 6, learningRate: 2e-2, lora: { r: 8, alpha: 16, dropout: 0 } },
  full: { epochs: 6, learningRate: 3e-3 },
  embedding: { epochs: 20, learningRate: 1e-2, head: 'linear' },
};

for (const method of Object.keys(LEARNING)) {
  test.serial(`${method}: the training loss falls, and the run saves and reloads`, async (t) => {
    const trainer = new Trainer(common(method, { ...LEARNING[method], devFraction: 0.2 }));
    const losses = lossCurve(trainer);
    const evals = [];
    trainer.on('eval', (e) => evals.push(e));
    const result = await trainer.train(data);
    const k = Math.max(2, Math.floor(losses.length / 4));
    const first = mean(losses.slice(0, k));
    const last = mean(losses.slice(-k));
    t.log(
      `${method}: ${losses.length} steps, loss ${first.toFixed(4)} -> ${last.toFixed(4)}, dev accuracy ${evals.map((e) => e.metrics.accuracy.toFixed(2)).join(' ')}`
    );
    t.true(last < first * 0.97, `loss did not fall: ${first} -> ${last}`);
    t.true(evals.length >= 1);
    const m = evals[0].metrics;
    t.is(
      m.confusion.flat().reduce((a, b) => a + b, 0),
      32
    );
    t.true(m.accuracy >= 0 && m.accuracy <= 1 && m.macroF1 >= 0 && m.macroF1 <= 1);

    const run = JSON.parse(fs.readFileSync(path.join(result.output, 'run.json'), 'utf8'));
    t.is(run.method, method);
    t.truthy(run.best);
    if (method === 'lora' || method === 'lora-head') {
      const cfg = JSON.parse(fs.readFileSync(path.join(result.output, 'adapter_config.json'), 'utf8'));
      t.is(cfg.peft_type, 'LORA');
      t.is(cfg.task_type, method === 'lora' ? 'CAUSAL_LM' : 'SEQ_CLS');
      const { tensors } = await readSafetensors(path.join(result.output, 'adapter_model.safetensors'));
      const keys = Object.keys(tensors);
      t.true(keys.includes('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'), keys.join(','));
      t.is(keys.includes('base_model.model.score.weight'), method === 'lora-head');
    }
    if (method === 'lora') {
      t.deepEqual(run.labelTokens, [103276, 106557]);
      t.true(run.prompt.includes('{text}'));
    }

    // Saved elsewhere and served by a Predictor: same dev predictions as the trainer's best evaluation.
    const saved = path.join(tmpDir(), 'saved');
    await trainer.save(saved);
    const predictor = new Predictor({ checkpoint: saved, device: 'cpu', dtype: 'float32' });
    const preds = await predictor.predict(data.texts.slice(0, 6));
    t.is(preds.length, 6);
    for (const p of preds) {
      t.true(Math.abs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5);
      t.is(p.sentiment, p.label === 1 ? '正面' : '负面');
      t.is(p.confidence, Math.max(...p.probabilities));
    }
    const ids = await predictor.encode(data.texts[0]);
    t.true(ids.length > 0 && ids.length <= 48);
    predictor.dispose();
  });
}

async function finalWeights(output, file) {
  return (await readSafetensors(path.join(output, 'checkpoint', file))).tensors;
}

for (const method of ['lora', 'embedding']) {
  test.serial(`${method}: stop and resume ends with the same weights as an uninterrupted run`, async (t) => {
    const extra =
      method === 'lora'
        ? { epochs: 2, learningRate: 5e-3, lora: { dropout: 0.1 } }
        : { epochs: 4, head: 'mlp', learningRate: 5e-3 };
    const file = method === 'lora' ? 'adapter_model.safetensors' : 'head.safetensors';
    const straight = new Trainer(common(method, extra));
    const r1 = await straight.train(data);

    const out = path.join(tmpDir(), 'resumed');
    const first = new Trainer(common(method, { ...extra, output: out }));
    first.on('progress', (p) => {
      if (p.step === 5) first.stop();
    });
    const partial = await first.train(data);
    t.true(partial.stopped);
    t.is(partial.steps, 5);
    const second = new Trainer(common(method, { ...extra, output: out, resume: true }));
    const r2 = await second.train(data);
    t.false(r2.stopped);
    t.is(r2.steps, r1.steps);

    const a = await finalWeights(r1.output, file);
    const b = await finalWeights(r2.output, file);
    t.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    let maxDiff = 0;
    for (const k of Object.keys(a)) {
      const x = a[k].data;
      const y = b[k].data;
      for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
    }
    t.log(`max weight difference after resume: ${maxDiff}`);
    t.true(maxDiff <= 1e-6);
    t.deepEqual(
      JSON.parse(fs.readFileSync(path.join(r2.output, 'run.json'), 'utf8')).history.map((h) => h.metrics.accuracy),
      JSON.parse(fs.readFileSync(path.join(r1.output, 'run.json'), 'utf8')).history.map((h) => h.metrics.accuracy)
    );
  });
}

test.serial(
  'embedding: the Predictor, one native object, gives the probabilities of the two-object path',
  async (t) => {
    const { Qwen3Model, IM_END_ID } = require('../../dist');
    const { loadNative } = require('../../dist/native');
    const { weightsFileFor } = require('../../dist/classifier/methods');
    const { maxAbsDiff } = require('../helpers/util');
    const result = await new Trainer(common('embedding', { epochs: 2, head: 'mlp' })).train(data);
    const texts = data.texts.slice(0, 40);
    const predictor = new Predictor({ checkpoint: result.output, device: 'cpu', dtype: 'float32' });
    const preds = await predictor.predict(texts);
    const stats = predictor.stats();
    // Before: Qwen3Model.embed gave the vectors and a second native object applied the head to them.
    const ids = await Promise.all(texts.map((text) => predictor.encode(text)));
    predictor.dispose();
    const model = await Qwen3Model.load(embeddingDir, { device: 'cpu', dtype: 'float32' });
    const head = new (loadNative().Classifier)();
    try {
      const vectors = await model.embed(ids, { batchSize: 32 });
      await head.init({
        method: 'embedding',
        training: false,
        device: 'cpu',
        dtype: 'float32',
        head: 'mlp',
        featureDim: model.hiddenSize,
        headDropout: 0,
        numLabels: 2,
        labelTokens: [],
        endToken: IM_END_ID,
        gradientCheckpointing: false,
        seed: 0,
      });
      await head.loadWeights(path.join(result.output, weightsFileFor('embedding')));
      const features = new Float32Array(texts.length * model.hiddenSize);
      vectors.forEach((v, i) => features.set(v, i * model.hiddenSize));
      const probs = await head.predictFeatures(features, texts.length);
      const diff = Math.max(...preds.map((p, i) => maxAbsDiff(p.probabilities, probs.subarray(i * 2, i * 2 + 2))));
      t.log(`max |difference| over ${texts.length} posts: ${diff}`);
      t.true(diff <= 1e-6);
      t.deepEqual(stats, model.stats(), 'the same tokens run and reused');
    } finally {
      head.dispose();
      model.dispose();
    }
  }
);

test.serial('resume refuses a checkpoint trained with different settings', async (t) => {
  const out = path.join(tmpDir(), 'run');
  const a = new Trainer(common('lora-head', { output: out, epochs: 1 }));
  await a.train(data);
  const b = new Trainer(common('lora-head', { output: out, epochs: 1, learningRate: 1e-2, resume: true }));
  const e = await t.throwsAsync(b.train(data));
  // One line per field that differs, with both values, instead of two JSON objects to compare by eye.
  t.regex(e.message, /it was trained with other settings\.\n  learningRate: [\d.e-]+ in the checkpoint, 0\.01 now\n/);
  t.regex(e.message, /Resume with the checkpoint's settings, or train from scratch/);
});

test('options are validated with the option named', (t) => {
  t.throws(() => new Trainer({ method: 'lora', epochs: -1 }), {
    message: 'Expected positive integer for epochs but received -1',
  });
  t.throws(() => new Trainer({ method: 'sft' }), { message: /method/ });
  t.throws(() => new Trainer({ method: 'full', dtype: 'bfloat16' }), { message: /float32/ });
  t.throws(() => new Trainer({ method: 'lora', lora: { targetModules: ['lm_head'] } }), {
    message: /lora.targetModules/,
  });
  t.throws(() => new Trainer({ method: 'lora', prompt: 'no placeholder' }), { message: /\{text\}/ });
  t.throws(() => new Trainer({ method: 'lora', learningrate: 1 }), { message: /learningrate/ });
});

test('training data files are read in every format, with bad rows reported as file:line', async (t) => {
  const dir = tmpDir();
  const jsonl = path.join(dir, 'train.jsonl');
  fs.writeFileSync(
    jsonl,
    data.texts
      .slice(0, 40)
      .map((text, i) => JSON.stringify({ text, label: data.labels[i] }))
      .join('\n')
  );
  const trainer = new Trainer(common('embedding', { epochs: 1, head: 'linear' }));
  const r = await trainer.train(jsonl);
  t.truthy(r.best);
  const bad = path.join(dir, 'bad.txt');
  fs.writeFileSync(bad, '好\t1\n坏\t7\n');
  await t.throwsAsync(new Trainer(common('embedding', { epochs: 1 })).train(bad), { message: /bad\.txt:2/ });
});

test('a bare PEFT adapter folder (trained elsewhere) is served by Predictor', async (t) => {
  const { FIXTURES, fixtureModel } = require('../helpers/util');
  const adapter = path.join(FIXTURES, 'peft', 'tiny-tied-f32-seqcls');
  // Single ASCII letters are byte-level tokens, inside the fixture's 256-token vocabulary.
  const p = new Predictor({
    checkpoint: adapter,
    model: fixtureModel('tiny-tied-f32'),
    device: 'cpu',
    dtype: 'float32',
  });
  const r = await p.predict(['a', 'b']);
  t.is(p.info.method, 'lora-head');
  t.is(r.length, 2);
  t.true(Math.abs(r[0].probabilities[0] + r[0].probabilities[1] - 1) < 1e-5);
  t.true(Math.abs(r[0].probabilities[0] - r[1].probabilities[0]) > 1e-6);
  p.dispose();
  const noBase = new Predictor({ checkpoint: adapter, device: 'cpu', dtype: 'float32' });
  await t.throwsAsync(noBase.predict('a'), { message: /tiny-tied-f32|model/ });
});
