'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const WEIBO = path.resolve(ROOT, '..', 'shared', 'data', 'weibo2018', 'train.txt');

// Every scratch folder of a test process lives under one root, removed when the process exits: left in the temporary
// folder, a day of test runs came to 5,300 folders of tiny models and runs, 53 GB, and filled the disk.
// QWEN3_NATIVE_KEEP_TMP=1 keeps them for a post-mortem (the root is printed).
let scratch;
function scratchRoot() {
  if (scratch) return scratch;
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'q3n-test-'));
  if (process.env.QWEN3_NATIVE_KEEP_TMP) console.error(`test scratch folders kept in ${scratch}`);
  else
    process.on('exit', () => {
      try {
        fs.rmSync(scratch, { recursive: true, force: true });
      } catch (error) {
        console.error(`could not remove the test scratch folder ${scratch}: ${error.message}`);
      }
    });
  return scratch;
}

/** A new folder under this process's scratch root (see above). */
function tmpDir(prefix = 'q3n-') {
  return fs.mkdtempSync(path.join(scratchRoot(), prefix));
}

function maxAbsDiff(actual, expected) {
  let m = 0;
  for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(actual[i] - expected[i]));
  if (actual.length !== expected.length) return Infinity;
  return m;
}

/** Copies a folder. */
const copyDir = (src, dst) => (fs.cpSync(src, dst, { recursive: true }), dst);

function goldens(name) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'goldens', `${name}.json`), 'utf8'));
}

function fixtureModel(name) {
  return path.join(FIXTURES, 'models', name);
}

function weiboLines(n) {
  return fs
    .readFileSync(WEIBO, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, n);
}

/** weibo2018 lines ("text<TAB>label") as the Trainer's { texts, labels }. */
function weiboData(lines) {
  return {
    texts: lines.map((l) => l.slice(0, l.lastIndexOf('\t'))),
    labels: lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1))),
  };
}

/**
 * A real lora run folder for prediction tests: a tiny random Qwen3 (`seed`) written to `base`, trained one epoch
 * (batch 16, float32, CPU) on the given posts into `output`. Returns `output`.
 */
async function trainTinyLoraRun({ base, seed, output, texts, labels, maxLength = 32 }) {
  const { createTinyQwen3, Trainer } = require('../../dist');
  await createTinyQwen3(base, { seed });
  await new Trainer({
    method: 'lora',
    model: base,
    output,
    device: 'cpu',
    dtype: 'float32',
    epochs: 1,
    batchSize: 16,
    maxLength,
    cacheDir: tmpDir(),
  }).train({ texts, labels });
  return output;
}

/** Two tiny random Qwen3 base models of one seed in a new folder: a causal one and an embedding one. */
async function tinyBases(seed = 7) {
  const { createTinyQwen3 } = require('../../dist');
  const dir = tmpDir();
  const causal = path.join(dir, 'causal');
  const embedding = path.join(dir, 'embedding');
  await createTinyQwen3(causal, { seed });
  await createTinyQwen3(embedding, { kind: 'embedding', seed });
  return { causal, embedding };
}

module.exports = {
  ROOT,
  tinyBases,
  FIXTURES,
  WEIBO,
  tmpDir,
  maxAbsDiff,
  copyDir,
  goldens,
  fixtureModel,
  weiboLines,
  weiboData,
  trainTinyLoraRun,
};
