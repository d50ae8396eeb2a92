'use strict';
// Direct access to the native Classifier for numerics tests.
const path = require('path');
const { loadNative } = require('../../dist/native');
const { readQwen3Config } = require('../../dist/qwen3/config');
const { weightFiles } = require('../../dist/qwen3/folder');
const { IM_END_ID } = require('../../dist');
const { ADAMW } = require('../../dist/classifier/native-spec');
const { fixtureModel, maxAbsDiff } = require('./util');

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

/** A native Classifier over the checkpoint in `dir`, `spec` over the neutral defaults. */
async function openClassifierIn(dir, spec) {
  const { native: config } = await readQwen3Config(dir);
  const c = new (loadNative().Classifier)();
  await c.init({ ...SPEC_DEFAULTS, files: await weightFiles(dir), config, ...spec });
  return c;
}

/** The same over a fixture model of test/fixtures/models. */
const openClassifier = (baseName, spec) => openClassifierIn(fixtureModel(baseName), spec);

function softmax(row) {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** log(softmax(row)), computed stably. */
function logSoftmax(row) {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

/** The largest |a - b| over rows of numbers (Infinity when a row's length differs). */
function worstDiff(actual, expected) {
  if (actual.length !== expected.length) return Infinity;
  return Math.max(...expected.map((row, i) => maxAbsDiff(actual[i], row)));
}

module.exports = { pack, openClassifier, openClassifierIn, softmax, logSoftmax, worstDiff, path };
