'use strict';
// Every run records its own history (lib/runs/history.ts): metrics.jsonl with one line per optimizer step
// and per dev evaluation, and the totals in run.json; a stopped and resumed run ends with one line per step and the
// totals of both sessions.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { createTinyQwen3, Trainer } = require('../../dist');
const { readRunHistory } = require('../../dist/runs/history');
const { tmpDir, weiboLines } = require('../helpers/util');

const lines = weiboLines(64);
const data = {
  texts: lines.map((l) => l.slice(0, l.lastIndexOf('\t'))),
  labels: lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1))),
};

let model;
test.before(async () => {
  model = path.join(tmpDir(), 'causal');
  await createTinyQwen3(model, { seed: 7 });
});

const options = (output) => ({
  method: 'lora',
  model,
  output,
  device: 'cpu',
  dtype: 'float32',
  maxLength: 32,
  batchSize: 16,
  epochs: 2,
  learningRate: 5e-3,
  devFraction: 0.2,
  seed: 3,
});

const readRun = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));

test.serial('metrics.jsonl has a line per step and per evaluation; run.json has the totals', async (t) => {
  const output = path.join(tmpDir(), 'run');
  const trainer = new Trainer(options(output));
  const seen = [];
  trainer.on('progress', (p) => seen.push(p));
  const result = await trainer.train(data);
  const history = readRunHistory(output);
  const progress = history.filter((h) => h.type === 'progress');
  const evals = history.filter((h) => h.type === 'eval');
  t.deepEqual(
    progress.map((p) => p.step),
    seen.map((p) => p.step)
  );
  t.is(progress.length, result.steps);
  t.deepEqual(
    evals.map((e) => e.epoch),
    [1, 2]
  );
  for (const p of progress) {
    t.true(
      Number.isFinite(p.loss) && p.learningRate > 0 && p.tokensPerSecond > 0 && p.elapsedMs >= 0,
      `step ${p.step}`
    );
    t.true(p.examples > 0 && p.tokens > 0 && p.peakRssBytes > 0, `step ${p.step}`);
    t.is(p.peakGpuBytes, null, 'no CUDA: null, not 0');
  }
  const info = readRun(output);
  for (const e of evals) {
    t.is(e.accuracy, e.metrics.accuracy);
    t.true(e.macroF1 >= 0 && e.macroF1 <= 1);
  }
  t.deepEqual(
    evals.map((e) => e.accuracy),
    info.history.map((h) => h.metrics.accuracy)
  );
  const totals = info.totals;
  t.is(totals.steps, result.steps);
  t.is(totals.examplesSeen, 2 * info.trainExamples, 'two epochs over the train split');
  t.is(
    totals.tokensSeen,
    seen.reduce((a, p) => a + p.tokens, 0)
  );
  t.true(totals.trainSeconds > 0 && totals.peakRssBytes > 0);
  t.is(totals.peakGpuBytes, null);
  t.true(
    totals.trainableParameters > 0 && totals.totalParameters > totals.trainableParameters,
    'lora: base + adapters'
  );
  t.regex(info.data.train.sha256, /^[0-9a-f]{64}$/);
});

test.serial('a stopped and resumed run: one line per step, totals over both sessions', async (t) => {
  const output = path.join(tmpDir(), 'resumed');
  const first = new Trainer(options(output));
  first.on('progress', (p) => {
    if (p.step === 3) first.stop();
  });
  const partial = await first.train(data);
  t.true(partial.stopped);
  const second = new Trainer({ ...options(output), resume: true });
  const result = await second.train(data);
  t.false(result.stopped);
  const steps = readRunHistory(output)
    .filter((h) => h.type === 'progress')
    .map((p) => p.step);
  t.deepEqual(
    steps,
    Array.from({ length: result.steps }, (_, i) => i + 1)
  );
  const info = readRun(output);
  t.is(info.totals.steps, result.steps);
  t.is(info.totals.examplesSeen, 2 * info.trainExamples);
});
