'use strict';
// The optimizer of method `full` against the float64 dense-AdamW golden (scripts/reference/make_adamw_fixtures.py):
// the embedding table is trained row-wise from a sparse gradient, and must end where dense AdamW ends.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { FIXTURES, maxAbsDiff, tmpDir } = require('../helpers/util');
const { pack, openClassifier } = require('../helpers/native');
const { readSafetensors } = require('../helpers/safetensors');

const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'grad', 'full-adamw.json'), 'utf8'));
const SCORE = path.join(FIXTURES, 'grad', 'full', 'score.safetensors');
// float32 against float64 over three steps of size ~lr (1e-2): gradients agree to ~1e-6 relative (make_grad_fixtures
// info), and eps 1e-3 keeps the update's sensitivity to them small; a missed weight decay moves a row by ~6e-4.
const TOLERANCE = 1e-5;

async function open() {
  const a = golden.adam;
  const c = await openClassifier(golden.base, {
    method: 'full',
    adam: { beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weight_decay },
  });
  await c.loadWeights(SCORE);
  return c;
}

async function runSteps(c, steps, t) {
  for (const s of steps) {
    const { ids, lengths } = pack(s.batch.map((i) => golden.sequences[i]));
    const r = await c.accumulate(ids, lengths, true, Int32Array.from(s.batch.map((i) => golden.labels[i])), 1);
    t.true(Math.abs(r.loss - s.loss) < 1e-5, `loss ${r.loss} vs ${s.loss}`);
    const norm = await c.step(s.lr, s.max_grad_norm);
    t.true(Math.abs(norm - s.grad_norm) <= 1e-5 * s.grad_norm, `gradient norm ${norm} vs ${s.grad_norm}`);
  }
}

async function compareWeights(c, t) {
  const file = path.join(tmpDir(), 'model.safetensors');
  await c.saveWeights(file);
  const { tensors } = await readSafetensors(file);
  for (const [name, g] of Object.entries(golden.weights)) {
    t.deepEqual(tensors[name].shape, g.shape, name);
    const d = maxAbsDiff(tensors[name].data, g.values);
    t.true(d <= TOLERANCE, `${name}: max |ours - float64 dense AdamW| ${d.toExponential(2)}`);
  }
  // The rows that show the row-wise update's two claims, separately (their error would hide in the table's maximum).
  const embed = tensors['model.embed_tokens.weight'];
  const width = embed.shape[1];
  const rowsOf = (rows) => rows.flatMap((r) => Array.from({ length: width }, (_, j) => r * width + j));
  for (const [what, rows] of Object.entries(golden.rows)) {
    const idx = rowsOf(rows);
    const d = maxAbsDiff(
      idx.map((i) => embed.data[i]),
      idx.map((i) => golden.weights['model.embed_tokens.weight'].values[i])
    );
    t.true(d <= TOLERANCE, `${what} (${rows.length} rows): ${d.toExponential(2)}`);
  }
}

test('full: three AdamW steps (sparse embedding gradient, row-wise update) equal float64 dense AdamW', async (t) => {
  const c = await open();
  await runSteps(c, golden.steps, t);
  await compareWeights(c, t);
  c.dispose();
});

test('full: the row-wise state survives a checkpoint: save after step 1, resume in a fresh classifier', async (t) => {
  const dir = tmpDir();
  const a = await open();
  await runSteps(a, golden.steps.slice(0, 1), t);
  await a.saveWeights(path.join(dir, 'model.safetensors'));
  await a.saveTrainingState(path.join(dir, 'state.safetensors'));
  a.dispose();
  const b = await open();
  await b.loadWeights(path.join(dir, 'model.safetensors'));
  await b.loadTrainingState(path.join(dir, 'state.safetensors'));
  await runSteps(b, golden.steps.slice(1), t);
  await compareWeights(b, t);
  b.dispose();
});
