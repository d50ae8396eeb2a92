'use strict';
// Direct access to the native Classifier for numerics tests.
const path = require('path');
const { loadNative } = require('../../dist/native');
const { readQwen3Config } = require('../../dist/qwen3/config');
const { weightFiles } = require('../../dist/qwen3/folder');
const { IM_END_ID } = require('../../dist');
const { ADAMW } = require('../../dist/classifier/native-spec');
const { fixtureModel } = require('./util');

function pack(sequences) {
  const lengths = Int32Array.from(sequences.map((s) => s.length));
  const ids = Int32Array.from(sequences.flat());
  return { ids, lengths };
}

// The binding reads every field of the spec (lib/native.ts NativeClassifierSpec): neutral values for those a test
// does not set.
const SPEC_DEFAULTS = {
  numLabels: 2,
  seed: 0,
  training: true,
  device: 'cpu',
  dtype: 'float32',
  mapEmbeddings: 'auto',
  head: 'linear',
  featureDim: 0,
  headDropout: 0,
  labelTokens: [],
  endToken: IM_END_ID,
  gradientCheckpointing: false,
  adam: { ...ADAMW, weightDecay: 0.01 },
};

async function openClassifier(baseName, spec) {
  const dir = fixtureModel(baseName);
  const { native: config } = await readQwen3Config(dir);
  const c = new (loadNative().Classifier)();
  await c.init({ ...SPEC_DEFAULTS, files: await weightFiles(dir), config, ...spec });
  return c;
}

function softmax(row) {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

module.exports = { pack, openClassifier, softmax, path };
