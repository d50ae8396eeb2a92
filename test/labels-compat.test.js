'use strict';
// Binary run folders written before label sets existed (test/fixtures/runs-binary, made by
// scripts/make-binary-run-fixtures.js with that code) load and predict bit-identically: same labels, names,
// confidences and probabilities.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { createTinyQwen3, Predictor } = require('../dist');
const { FIXTURES, tmpDir } = require('./helpers/util');

const RUNS = path.join(FIXTURES, 'runs-binary');
const expected = JSON.parse(fs.readFileSync(path.join(RUNS, 'predictions.json'), 'utf8'));

let causal;
let embedding;
test.before(async () => {
  causal = path.join(tmpDir(), 'causal');
  embedding = path.join(tmpDir(), 'embedding');
  await createTinyQwen3(causal, { seed: 7 });
  await createTinyQwen3(embedding, { kind: 'embedding', seed: 7 });
});

for (const method of Object.keys(expected.predictions)) {
  test.serial(`${method}: a binary run of the old format predicts bit-identically`, async (t) => {
    const p = new Predictor({
      checkpoint: path.join(RUNS, method),
      model: method === 'embedding' ? embedding : causal,
      device: 'cpu',
      dtype: 'float32',
    });
    try {
      const got = await p.predict(expected.texts);
      t.deepEqual(JSON.parse(JSON.stringify(got)), expected.predictions[method]);
      t.deepEqual(p.info.labels, { 0: '负面', 1: '正面' });
    } finally {
      p.dispose();
    }
  });
}
