'use strict';
// LoRA, PEFT adapters and gradients against the float64 reference (scripts/reference/make_{peft,grad}_fixtures.py).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { FIXTURES, maxAbsDiff, goldens } = require('../helpers/util');
const { pack, openClassifier, softmax } = require('../helpers/native');
const { readRunInfo } = require('../../dist/runs/folder');

function adapterConfig(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
}

function loraSpec(cfg) {
  return { r: cfg.r, alpha: cfg.lora_alpha, dropout: 0, rslora: cfg.use_rslora, targetModules: cfg.target_modules };
}

const allTokens = (vocab) => Array.from({ length: vocab }, (_, i) => i);

for (const base of ['tiny-tied-f32', 'tiny-untied-bf16-gqa3']) {
  test(`${base}: a PEFT causal adapter written by the reference loads and matches`, async (t) => {
    const name = `${base}-causal`;
    const dir = path.join(FIXTURES, 'peft', name);
    const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'peft', `${name}.json`), 'utf8'));
    const vocab = g.last_token_logits[0].length;
    const c = await openClassifier(base, {
      method: 'lora',
      lora: loraSpec(adapterConfig(dir)),
      numLabels: vocab,
      labelTokens: allTokens(vocab),
    });
    const { ids, lengths } = pack(g.sequences);
    const fresh = await c.predict(ids, lengths, true);
    // B = 0 at initialisation: the adapted model equals the base model.
    g.sequences.forEach((_, i) =>
      t.true(maxAbsDiff(fresh.subarray(i * vocab, (i + 1) * vocab), softmax(g.base_last_token_logits[i])) < 1e-5)
    );
    await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
    const probs = await c.predict(ids, lengths, false);
    g.sequences.forEach((_, i) =>
      t.true(maxAbsDiff(probs.subarray(i * vocab, (i + 1) * vocab), softmax(g.last_token_logits[i])) < 1e-5, `row ${i}`)
    );
    await c.merge();
    const merged = await c.predict(ids, lengths, true);
    t.true(maxAbsDiff(merged, probs) < 1e-5);
    await c.unmerge();
    t.true(maxAbsDiff(await c.predict(ids, lengths, true), probs) < 1e-5);
    c.dispose();
  });

  test(`${base}: a PEFT SEQ_CLS adapter (rsLoRA + score) loads and matches`, async (t) => {
    const name = `${base}-seqcls`;
    const dir = path.join(FIXTURES, 'peft', name);
    const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'peft', `${name}.json`), 'utf8'));
    const c = await openClassifier(base, { method: 'lora-head', lora: loraSpec(adapterConfig(dir)) });
    await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
    const { ids, lengths } = pack(g.sequences);
    const probs = await c.predict(ids, lengths, true);
    g.sequences.forEach((_, i) =>
      t.true(maxAbsDiff(probs.subarray(i * 2, i * 2 + 2), softmax(g.seq_cls_logits[i])) < 1e-5, `row ${i}`)
    );
    c.dispose();
  });

  test(`${base}: a PEFT SEQ_CLS adapter with num_labels 3 loads and matches`, async (t) => {
    const name = `${base}-seqcls3`;
    const dir = path.join(FIXTURES, 'peft', name);
    const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'peft', `${name}.json`), 'utf8'));
    t.is(g.seq_cls_logits[0].length, 3);
    const c = await openClassifier(base, { method: 'lora-head', lora: loraSpec(adapterConfig(dir)), numLabels: 3 });
    await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
    const { ids, lengths } = pack(g.sequences);
    const probs = await c.predict(ids, lengths, true);
    t.is(probs.length, g.sequences.length * 3);
    let worst = 0;
    g.sequences.forEach((_, i) => {
      worst = Math.max(worst, maxAbsDiff(probs.subarray(i * 3, i * 3 + 3), softmax(g.seq_cls_logits[i])));
    });
    t.log(`max |p - p_ref| ${worst.toExponential(2)}`);
    t.true(worst < 1e-5);
    c.dispose();
    // As a run: the bare PEFT folder is a three-label lora-head run (HF's LABEL_<i> names).
    t.deepEqual(readRunInfo(dir).labels, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    t.deepEqual(readRunInfo(path.join(FIXTURES, 'peft', `${base}-seqcls`)).labels, { 0: '负面', 1: '正面' });
  });
}

for (const kase of ['lora-head', 'lora', 'full']) {
  test(`${kase}: loss and gradients match the float64 reference`, async (t) => {
    const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'grad', `${kase}.json`), 'utf8'));
    const dir = path.join(FIXTURES, 'grad', kase);
    const spec =
      kase === 'full'
        ? { method: 'full' }
        : { method: kase, lora: loraSpec(adapterConfig(dir)), labelTokens: g.label_tokens, endToken: g.end_token };
    const c = await openClassifier(g.base, spec);
    await c.loadWeights(path.join(dir, kase === 'full' ? 'score.safetensors' : 'adapter_model.safetensors'));
    const { ids, lengths } = pack(g.sequences);
    const r = await c.accumulate(ids, lengths, true, Int32Array.from(g.labels), 1);
    t.true(Math.abs(r.loss - g.loss) < 1e-5, `loss ${r.loss} vs ${g.loss}`);
    const grads = await c.gradients();
    const names = Object.keys(g.grads);
    t.true(names.length > 0);
    for (const n of names) {
      t.truthy(grads[n], `missing gradient ${n}`);
      const expected = g.grads[n].values;
      const scale = Math.max(...expected.map(Math.abs));
      t.true(maxAbsDiff(grads[n], expected) <= 1e-5 + 1e-3 * scale, `${n}`);
    }
    c.dispose();
  });
}

test('gradient accumulation over micro-batches equals one batch; padding side does not matter', async (t) => {
  const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'grad', 'lora-head.json'), 'utf8'));
  const dir = path.join(FIXTURES, 'grad', 'lora-head');
  const spec = { method: 'lora-head', lora: loraSpec(adapterConfig(dir)) };
  const c = await openClassifier(g.base, spec);
  await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
  for (let i = 0; i < 4; i += 2) {
    const { ids, lengths } = pack(g.sequences.slice(i, i + 2));
    await c.accumulate(ids, lengths, i === 0, Int32Array.from(g.labels.slice(i, i + 2)), 0.5);
  }
  const grads = await c.gradients();
  for (const n of Object.keys(g.grads)) {
    const expected = g.grads[n].values;
    const scale = Math.max(...expected.map(Math.abs));
    t.true(maxAbsDiff(grads[n], expected) <= 1e-5 + 1e-3 * scale, n);
  }
  c.dispose();
});

// Serial: the dropout RNG is process-wide, and concurrent tests would draw from it in between.
test.serial('gradient checkpointing gives the same gradients', async (t) => {
  const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'grad', 'lora.json'), 'utf8'));
  const dir = path.join(FIXTURES, 'grad', 'lora');
  const c = await openClassifier(g.base, {
    method: 'lora',
    lora: { ...loraSpec(adapterConfig(dir)), dropout: 0.1 },
    labelTokens: g.label_tokens,
    endToken: g.end_token,
    gradientCheckpointing: true,
  });
  await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
  const { ids, lengths } = pack(g.sequences);
  // Each classifier re-seeds the generator when it opens, so both draw the same dropout masks; checkpointing must
  // recompute its layers with the forward's RNG state for the gradients to agree.
  const a = await c.accumulate(ids, lengths, true, Int32Array.from(g.labels), 1);
  const ga = await c.gradients();
  const plain = await openClassifier(g.base, {
    method: 'lora',
    lora: { ...loraSpec(adapterConfig(dir)), dropout: 0.1 },
    labelTokens: g.label_tokens,
    endToken: g.end_token,
  });
  await plain.loadWeights(path.join(dir, 'adapter_model.safetensors'));
  const b = await plain.accumulate(ids, lengths, true, Int32Array.from(g.labels), 1);
  t.true(Math.abs(a.loss - b.loss) < 1e-5, `${a.loss} vs ${b.loss}`);
  const gb = await plain.gradients();
  for (const n of Object.keys(gb)) t.true(maxAbsDiff(ga[n], gb[n]) < 1e-5, n);
  c.dispose();
  plain.dispose();
});
