'use strict';
// Writes test/fixtures/runs-binary/: run folders of today's binary (负面/正面) format, trained on tiny random
// models, and the predictions they gave when written (predictions.json). test/predict/binary-runs.test.js loads them with
// the current code and checks the probabilities are bit-identical, so a label-set change can never move the
// numbers of an existing binary run. `full` is left out: its run folder holds the whole model (~40 MB).
// Run once, with the code whose format the fixture records: node scripts/make-binary-run-fixtures.js
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createTinyQwen3, Trainer, Predictor } = require('../dist');

const OUT = path.join(__dirname, '..', 'test', 'fixtures', 'runs-binary');
const DATA = path.join(__dirname, '..', 'data', 'weibo_sample.txt');
/** Texts predicted by the fixture test (short and long, empty, ASCII). */
const TEXTS = [
  '今天天气真好，心情很棒',
  '排了两个小时的队，结果卖完了',
  '',
  'ok',
  '一般般吧，说不上好也说不上坏。'.repeat(4),
];
const SETTINGS = {
  lora: { epochs: 1, learningRate: 5e-3, lora: { r: 4, alpha: 8, dropout: 0 } },
  'lora-head': { epochs: 1, learningRate: 5e-3, lora: { r: 4, alpha: 8, dropout: 0 } },
  embedding: { epochs: 2, learningRate: 1e-2, head: 'mlp' },
};

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'q3n-fixture-'));
  const causal = path.join(tmp, 'causal');
  const embedding = path.join(tmp, 'embedding');
  await createTinyQwen3(causal, { seed: 7 });
  await createTinyQwen3(embedding, { kind: 'embedding', seed: 7 });
  const lines = fs
    .readFileSync(DATA, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 64);
  const data = {
    texts: lines.map((l) => l.slice(0, l.lastIndexOf('\t'))),
    labels: lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1))),
  };
  fs.rmSync(OUT, { recursive: true, force: true });
  const predictions = {};
  for (const [method, extra] of Object.entries(SETTINGS)) {
    const output = path.join(OUT, method);
    const trainer = new Trainer({
      method,
      model: method === 'embedding' ? embedding : causal,
      output,
      device: 'cpu',
      dtype: 'float32',
      maxLength: 48,
      batchSize: 16,
      seed: 3,
      cacheDir: path.join(tmp, 'cache'),
      keepCheckpoint: false,
      ...extra,
    });
    await trainer.train(data);
    const p = new Predictor({ checkpoint: output, device: 'cpu', dtype: 'float32' });
    predictions[method] = await p.predict(TEXTS);
    p.dispose();
  }
  fs.writeFileSync(path.join(OUT, 'predictions.json'), JSON.stringify({ texts: TEXTS, predictions }, null, 1) + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
