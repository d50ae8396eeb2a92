'use strict';
// Token attributions (integrated gradients, csrc/core/attribution.cpp) of every method against the float64 golden
// (scripts/reference/make_ig_fixtures.py), and completeness: the scores sum to f(input) - f(baseline), closer as the
// steps grow.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { FIXTURES } = require('../helpers/util');
const { openClassifier } = require('../helpers/native');

const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ig', 'ig.json'), 'utf8'));

async function open(kase) {
  if (kase === 'embedding') {
    const c = await openClassifier('tiny-embedding-f32', { method: 'embedding', training: false, featureDim: 32 });
    await c.loadWeights(path.join(FIXTURES, 'ig', 'embedding', 'classifier.safetensors'));
    return c;
  }
  const dir = path.join(FIXTURES, 'grad', kase);
  if (kase === 'full') {
    const c = await openClassifier('tiny-tied-f32', { method: 'full', training: false });
    await c.loadWeights(path.join(dir, 'score.safetensors'));
    return c;
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  const c = await openClassifier('tiny-tied-f32', {
    method: kase,
    training: false,
    lora: { r: cfg.r, alpha: cfg.lora_alpha, dropout: 0, rslora: cfg.use_rslora, targetModules: cfg.target_modules },
    labelTokens: golden.label_tokens,
    endToken: golden.end_token,
  });
  await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
  return c;
}

const explain = (c, row, steps, maxTokensPerPass = 0) =>
  c.explain(Int32Array.from(row.sequence), {
    from: golden.from,
    to: row.sequence.length,
    label: row.label,
    steps,
    baselineToken: golden.baseline_token,
    maxTokensPerPass,
  });

const sum = (a) => a.reduce((x, y) => x + y, 0);

for (const kase of Object.keys(golden.cases)) {
  test(`${kase}: attributions match the float64 golden, in one pass or several`, async (t) => {
    const c = await open(kase);
    for (const row of golden.cases[kase]) {
      // 3 sequence lengths per pass: steps run 1 to 3 at a time, the last pass short.
      for (const perPass of [0, 3 * row.sequence.length]) {
        const a = await explain(c, row, golden.steps, perPass);
        t.is(a.scores.length, row.scores.length);
        const worst = Math.max(...row.scores.map((s, i) => Math.abs(a.scores[i] - s)));
        const scale = Math.max(...row.scores.map(Math.abs));
        t.true(worst <= 1e-5 + 1e-4 * scale, `label ${row.label}, ${perPass} per pass: |score - golden| ${worst}`);
        t.true(Math.abs(a.target - row.target) < 1e-5, `f(x) ${a.target} vs ${row.target}`);
        t.true(Math.abs(a.baseline - row.baseline) < 1e-5, `f(b) ${a.baseline} vs ${row.baseline}`);
      }
    }
    c.dispose();
  });

  test(`${kase}: completeness: the scores sum to f(x) - f(baseline), within 2e-3 at 64 steps and closer than at 8`, async (t) => {
    const c = await open(kase);
    for (const row of golden.cases[kase]) {
      const errors = [];
      for (const steps of [8, 64]) {
        const a = await explain(c, row, steps);
        errors.push(Math.abs(sum(a.scores) - (a.target - a.baseline)));
      }
      t.log(`label ${row.label}: completeness error ${errors.map((e) => e.toExponential(1)).join(' at 8, ')} at 64`);
      t.true(errors[1] < 2e-3 && errors[1] < errors[0] / 8, `errors ${errors}`);
    }
    c.dispose();
  });
}

test('explain refuses what it cannot attribute, naming the operation', async (t) => {
  const c = await open('lora-head');
  const row = golden.cases['lora-head'][0];
  await t.throwsAsync(
    () =>
      c.explain(Int32Array.from(row.sequence), {
        ...row,
        from: 5,
        to: 5,
        label: 0,
        steps: 8,
        baselineToken: 0,
        maxTokensPerPass: 0,
      }),
    {
      message: /^explain: .*out of range/,
    }
  );
  c.dispose();
  await t.throwsAsync(() => explain(c, row, 8), { message: /^explain: the classifier was disposed/ });
});

test('explaining leaves the weights and their accumulated gradients as they were', async (t) => {
  const dir = path.join(FIXTURES, 'grad', 'lora-head');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  const c = await openClassifier('tiny-tied-f32', {
    method: 'lora-head',
    lora: { r: cfg.r, alpha: cfg.lora_alpha, dropout: 0, rslora: cfg.use_rslora, targetModules: cfg.target_modules },
  });
  await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
  const row = golden.cases['lora-head'][0];
  const ids = Int32Array.from(row.sequence);
  const lengths = Int32Array.from([row.sequence.length]);
  await c.accumulate(ids, lengths, true, Int32Array.from([1]), 1);
  const before = await c.gradients();
  const probs = await c.predict(ids, lengths, true);
  await explain(c, row, 8);
  const after = await c.gradients();
  for (const name of Object.keys(before)) t.deepEqual(after[name], before[name], name);
  t.deepEqual(await c.predict(ids, lengths, true), probs);
  c.dispose();
});
