'use strict';
// Direct access to the native Classifier for numerics tests.
const path = require('path');
const { loadNative } = require('../../dist/native');
const { readQwen3Config } = require('../../dist/qwen3/config');
const { checkpointFiles } = require('../../dist/qwen3/checkpoint');
const { fixtureModel } = require('./util');

function pack(sequences) {
  const lengths = Int32Array.from(sequences.map((s) => s.length));
  const ids = Int32Array.from(sequences.flat());
  return { ids, lengths };
}

async function openClassifier(baseName, spec) {
  const dir = fixtureModel(baseName);
  const { native: config } = readQwen3Config(dir);
  const c = new (loadNative().Classifier)();
  await c.init({
    numLabels: 2,
    seed: 0,
    training: true,
    device: 'cpu',
    dtype: 'float32',
    files: checkpointFiles(dir),
    config,
    ...spec,
  });
  return c;
}

function softmax(row) {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

module.exports = { pack, openClassifier, softmax, path };
