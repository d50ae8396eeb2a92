'use strict';
// Binary run folders written before label sets existed (test/fixtures/runs-binary, made by
// scripts/make-binary-run-fixtures.js with that code) load and predict as they did: the same labels and names, and
// the same confidences and probabilities. Those are bit-identical on the machine and libtorch that wrote the fixture
// (Debian 12's 1.13, AVX-512); another libtorch or CPU sums in another order (libtorch 2.6 in CI's Debian 13 root
// differs by up to 1.2e-7), so they are compared within 1e-6, far below any change in what is computed.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { Predictor } = require('../../dist');
const { FIXTURES, tinyBases } = require('../helpers/util');

const RUNS = path.join(FIXTURES, 'runs-binary');
const expected = JSON.parse(fs.readFileSync(path.join(RUNS, 'predictions.json'), 'utf8'));

let causal;
let embedding;
test.before(async () => {
  ({ causal, embedding } = await tinyBases(7));
});

for (const method of Object.keys(expected.predictions)) {
  test.serial(`${method}: a binary run of the old format predicts as it did`, async (t) => {
    const p = new Predictor({
      checkpoint: path.join(RUNS, method),
      model: method === 'embedding' ? embedding : causal,
      device: 'cpu',
      dtype: 'float32',
    });
    try {
      const got = await p.predict(expected.texts);
      const want = expected.predictions[method];
      const close = (a, b) => Math.abs(a - b) <= 1e-6;
      t.is(got.length, want.length);
      got.forEach((g, i) => {
        const w = want[i];
        t.deepEqual([g.text, g.label, g.sentiment, g.model], [w.text, w.label, w.sentiment, w.model]);
        t.true(close(g.confidence, w.confidence), `${i}: confidence ${g.confidence} vs ${w.confidence}`);
        t.true(
          g.probabilities.length === w.probabilities.length &&
            g.probabilities.every((x, j) => close(x, w.probabilities[j])),
          `${i}: probabilities ${g.probabilities} vs ${w.probabilities}`
        );
      });
      t.deepEqual(p.info.labels, { 0: '负面', 1: '正面' });
    } finally {
      p.dispose();
    }
  });
}
