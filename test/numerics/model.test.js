'use strict';
// Qwen3Model against the independent float64 reference (scripts/reference, goldens in test/fixtures).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { Qwen3Model, createTinyQwen3, runtimeInfo, ENDOFTEXT_ID } = require('../../dist');
const { FIXTURES, tmpDir, maxAbsDiff, copyDir, goldens, fixtureModel } = require('../helpers/util');

const MODELS = fs.readdirSync(path.join(FIXTURES, 'models')).sort();

test('runtimeInfo reports libtorch, CUDA, threads and bf16 support', (t) => {
  const info = runtimeInfo();
  t.regex(info.libtorchVersion, /^\d+\.\d+/);
  t.is(typeof info.cudaAvailable, 'boolean');
  t.true(info.threads >= 1);
  t.is(typeof info.cpuBf16, 'boolean');
});

test('fixtures cover tied/untied, GQA 1 and 3, head_dim != hidden/heads, bf16/f16/f32, sharded, embedding', (t) => {
  const configs = MODELS.map((m) => JSON.parse(fs.readFileSync(path.join(fixtureModel(m), 'config.json'), 'utf8')));
  t.true(configs.some((c) => c.tie_word_embeddings) && configs.some((c) => !c.tie_word_embeddings));
  t.true(configs.some((c) => c.num_attention_heads === c.num_key_value_heads));
  t.true(configs.some((c) => c.num_attention_heads / c.num_key_value_heads === 3));
  t.true(configs.some((c) => c.head_dim !== c.hidden_size / c.num_attention_heads));
  t.true(configs.some((c) => c.torch_dtype === 'bfloat16') && configs.some((c) => c.torch_dtype === 'float32'));
  t.true(MODELS.some((m) => fs.existsSync(path.join(fixtureModel(m), 'model.safetensors.index.json'))));
  t.true(configs.some((c) => c.architectures[0] === 'Qwen3Model'));
});

for (const name of MODELS) {
  for (const padding of ['left', 'right']) {
    test(`${name}: float32 matches the float64 reference (${padding} padding)`, async (t) => {
      const g = goldens(name);
      const model = await Qwen3Model.load(fixtureModel(name), { device: 'cpu', dtype: 'float32' });
      try {
        if (model.hasLmHead) {
          const logits = await model.lastTokenLogits(g.sequences, { padding });
          t.is(logits.length, g.sequences.length);
          g.sequences.forEach((_, i) =>
            t.true(maxAbsDiff(logits[i], g.last_token_logits[i]) < 1e-4, `logits row ${i}`)
          );
        } else {
          await t.throwsAsync(model.lastTokenLogits(g.sequences), { message: /no lm_head/ });
        }
        const hidden = await model.embed(g.sequences, { padding, normalize: false });
        g.sequences.forEach((_, i) => t.true(maxAbsDiff(hidden[i], g.last_token_hidden[i]) < 1e-4, `hidden row ${i}`));
        const emb = await model.embed(g.sequences, { padding });
        g.sequences.forEach((_, i) => t.true(maxAbsDiff(emb[i], g.embedding[i]) < 1e-5, `embedding row ${i}`));
      } finally {
        model.dispose();
      }
    });
  }
}

test('bfloat16 and float16 weights in memory stay close to the reference', async (t) => {
  const name = 'tiny-untied-bf16-gqa3';
  const g = goldens(name);
  const major = Number.parseInt(runtimeInfo().libtorchVersion, 10);
  if (major < 2) {
    await t.throwsAsync(Qwen3Model.load(fixtureModel(name), { device: 'cpu', dtype: 'float16' }), {
      message: /float16.*libtorch 2/,
    });
  }
  for (const dtype of major < 2 ? ['bfloat16'] : ['bfloat16', 'float16']) {
    const model = await Qwen3Model.load(fixtureModel(name), { device: 'cpu', dtype });
    t.is(model.dtype, dtype);
    const logits = await model.lastTokenLogits(g.sequences);
    g.sequences.forEach((_, i) => t.true(maxAbsDiff(logits[i], g.last_token_logits[i]) < 0.3, `${dtype} row ${i}`));
    model.dispose();
  }
});

test('a sequence gives the same result alone as inside a padded batch', async (t) => {
  const model = await Qwen3Model.load(fixtureModel('tiny-sharded-f32-gqa2'), { device: 'cpu', dtype: 'float32' });
  const seqs = [[5, 9, 200, 3], [7], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [300, 301]];
  const batched = await model.lastTokenLogits(seqs);
  // The core cuts one call into forward passes by length (longest first) and gives the rows back in input order.
  const onePerPass = await model.lastTokenLogits(seqs, { batchSize: 1 });
  const twoPerPass = await model.embed(seqs, { batchSize: 2, normalize: false });
  const oneEmbedPass = await model.embed(seqs, { normalize: false });
  for (let i = 0; i < seqs.length; i++) {
    const [alone] = await model.lastTokenLogits([seqs[i]]);
    t.true(maxAbsDiff(batched[i], alone) < 1e-5);
    t.true(maxAbsDiff(onePerPass[i], alone) < 1e-5, `sequence ${i}, one per forward pass`);
    t.true(maxAbsDiff(twoPerPass[i], oneEmbedPass[i]) < 1e-5, `sequence ${i}, two per forward pass`);
  }
  model.dispose();
});

for (const padding of ['left', 'right']) {
  test(`sequences sharing a prompt reuse its keys and values and match each run alone (${padding} padding)`, async (t) => {
    for (const name of ['tiny-sharded-f32-gqa2', 'tiny-untied-bf16-gqa3']) {
      const cached = await Qwen3Model.load(fixtureModel(name), { device: 'cpu', dtype: 'float32' });
      const alone = await Qwen3Model.load(fixtureModel(name), { device: 'cpu', dtype: 'float32' });
      const prompt = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
      const other = [31, 32, 33, 34, 35, 36, 37, 38, 39];
      const calls = [
        [
          [...prompt, 5],
          [...prompt, 40, 41, 42, 43, 44],
          [...prompt, 7, 8],
        ], // first batch: the prompt is run once
        [[...prompt, 9, 9, 9]], // one text: reuses the cached prompt
        [
          [...other, 1, 2],
          [...other, 3],
        ], // another prompt replaces it
        [
          [...other, 4],
          [1, 2, 3],
        ], // nothing shared: a plain forward
      ];
      for (const seqs of calls) {
        const logits = await cached.lastTokenLogits(seqs, { padding });
        const hidden = await cached.embed(seqs, { padding, normalize: false });
        for (let i = 0; i < seqs.length; i++) {
          const [l] = await alone.lastTokenLogits([seqs[i]]);
          const [h] = await alone.embed([seqs[i]], { normalize: false });
          t.true(maxAbsDiff(logits[i], l) < 1e-5, `${name} logits of ${JSON.stringify(seqs[i])}`);
          t.true(maxAbsDiff(hidden[i], h) < 1e-5, `${name} hidden state of ${JSON.stringify(seqs[i])}`);
        }
      }
      const stats = cached.stats();
      // lastTokenLogits and embed each: 3 x 10 + 1 x 10 + 2 x 9 prompt tokens reused.
      t.is(stats.tokensReused, 2 * (3 * prompt.length + prompt.length + 2 * other.length));
      t.is(alone.stats().tokensReused, 0);
      // Every token is run or reused, plus each prompt once, by the call that cached it.
      const total = 2 * calls.flat().reduce((n, s) => n + s.length, 0);
      t.is(stats.tokensRun + stats.tokensReused, total + prompt.length + other.length);
      cached.dispose();
      alone.dispose();
    }
  });
}

test('embed(text) appends <|endoftext|> and pools the last token; instructions change the input', async (t) => {
  const dir = tmpDir();
  await createTinyQwen3(dir, { kind: 'embedding', seed: 3 });
  const model = await Qwen3Model.load(dir, { device: 'cpu', dtype: 'float32' });
  const text = '今天天气很好，心情不错';
  const ids = await model.tokenizer.encode(text);
  const [fromText] = await model.embed([text]);
  const [fromIds] = await model.embed([[...ids, ENDOFTEXT_ID]]);
  t.true(maxAbsDiff(fromText, fromIds) < 1e-6);
  const norm = Math.sqrt(fromText.reduce((s, v) => s + v * v, 0));
  t.true(Math.abs(norm - 1) < 1e-5);
  const [withInstruction] = await model.embed([text], { instruction: '判断微博情感' });
  t.true(maxAbsDiff(withInstruction, fromText) > 1e-4);
  model.dispose();
});

test('dispose is idempotent and later calls reject with a clear message', async (t) => {
  const model = await Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cpu', dtype: 'float32' });
  model.dispose();
  model.dispose();
  await t.throwsAsync(model.lastTokenLogits([[1, 2]]), { message: /disposed/ });
});

test('bad arguments are rejected in TypeScript with the argument named', async (t) => {
  const model = await Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cpu', dtype: 'float32' });
  await t.throwsAsync(model.lastTokenLogits([[1, 99999]]), { message: /ids\[0\]/ });
  await t.throwsAsync(model.lastTokenLogits([[]]), { message: /ids\[0\]/ });
  await t.throwsAsync(model.lastTokenLogits([[1]], { padding: 'middle' }), { message: /options.padding/ });
  await t.throwsAsync(Qwen3Model.load(fixtureModel('tiny-tied-f32'), { dtype: 'float8' }), {
    message: /options.dtype/,
  });
  model.dispose();
});

test('missing, truncated and mis-shaped checkpoints give clear errors and the process lives on', async (t) => {
  await t.throwsAsync(Qwen3Model.load('/nonexistent/model'), { message: /Model folder not found/ });

  const noConfig = tmpDir();
  await t.throwsAsync(Qwen3Model.load(noConfig), { message: /config\.json not found/ });

  const noWeights = tmpDir();
  fs.copyFileSync(path.join(fixtureModel('tiny-tied-f32'), 'config.json'), path.join(noWeights, 'config.json'));
  await t.throwsAsync(Qwen3Model.load(noWeights), { message: /no safetensors weights/ });

  const truncated = copyDir(fixtureModel('tiny-tied-f32'), path.join(tmpDir(), 'm'));
  const file = path.join(truncated, 'model.safetensors');
  const size = fs.statSync(file).size;
  fs.truncateSync(file, Math.floor(size / 2));
  await t.throwsAsync(Qwen3Model.load(truncated, { device: 'cpu', dtype: 'float32' }), {
    message: /model\.safetensors.*(truncated|data ends)/s,
  });
  fs.truncateSync(file, 5);
  await t.throwsAsync(Qwen3Model.load(truncated, { device: 'cpu', dtype: 'float32' }), {
    message: /not a valid safetensors file \(file is 5 bytes/,
  });

  const badHeader = copyDir(fixtureModel('tiny-tied-f32'), path.join(tmpDir(), 'm'));
  const bytes = fs.readFileSync(path.join(badHeader, 'model.safetensors'));
  bytes.write('!!!!', 9);
  fs.writeFileSync(path.join(badHeader, 'model.safetensors'), bytes);
  await t.throwsAsync(Qwen3Model.load(badHeader, { device: 'cpu', dtype: 'float32' }), { message: /header/ });

  const wrongShape = copyDir(fixtureModel('tiny-tied-f32'), path.join(tmpDir(), 'm'));
  const cfgPath = path.join(wrongShape, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
  cfg.intermediate_size += 8;
  fs.writeFileSync(cfgPath, JSON.stringify(cfg));
  await t.throwsAsync(Qwen3Model.load(wrongShape, { device: 'cpu', dtype: 'float32' }), {
    message:
      /mlp\.gate_proj\.weight' has shape \[64, 32\] but config\.json's intermediate_size \(72\) and hidden_size \(32\) give \[72, 32\]/,
  });

  const sharded = copyDir(fixtureModel('tiny-sharded-f32-gqa2'), path.join(tmpDir(), 'm'));
  fs.unlinkSync(path.join(sharded, 'model-00002-of-00002.safetensors'));
  await t.throwsAsync(Qwen3Model.load(sharded), { message: /missing from/ });

  const unsupported = copyDir(fixtureModel('tiny-tied-f32'), path.join(tmpDir(), 'm'));
  const ucfg = JSON.parse(fs.readFileSync(path.join(unsupported, 'config.json'), 'utf8'));
  ucfg.rope_scaling = { rope_type: 'yarn', factor: 4 };
  fs.writeFileSync(path.join(unsupported, 'config.json'), JSON.stringify(ucfg));
  await t.throwsAsync(Qwen3Model.load(unsupported), { message: /rope_scaling/ });
  delete ucfg.rope_scaling;
  ucfg.rope_parameters = { rope_type: 'yarn', rope_theta: 1e6, factor: 4 };
  fs.writeFileSync(path.join(unsupported, 'config.json'), JSON.stringify(ucfg));
  await t.throwsAsync(Qwen3Model.load(unsupported), { message: /rope_parameters .*rope_type must be "default"/ });

  // Still alive and working.
  const model = await Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cpu', dtype: 'float32' });
  t.is((await model.lastTokenLogits([[1, 2, 3]]))[0].length, 256);
  model.dispose();
});

test("transformers 5's rope_parameters carry rope_theta (a config without rope_theta, theta 1e4)", async (t) => {
  // transformers 5 saves {"rope_parameters": {"rope_type": "default", "rope_theta": ...}} and no rope_theta; this
  // fixture's theta is 1e4, so reading the default 1e6 instead would move its logits by far more than 1e-4.
  const name = 'tiny-untied-bf16-gqa3';
  const dir = copyDir(fixtureModel(name), path.join(tmpDir(), 'm'));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  t.is(cfg.rope_theta, 10000);
  cfg.rope_parameters = { rope_type: 'default', rope_theta: cfg.rope_theta };
  delete cfg.rope_theta;
  delete cfg.rope_scaling;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  const g = goldens(name);
  const model = await Qwen3Model.load(dir, { device: 'cpu', dtype: 'float32' });
  const logits = await model.lastTokenLogits(g.sequences);
  g.sequences.forEach((_, i) => t.true(maxAbsDiff(logits[i], g.last_token_logits[i]) < 1e-4, `row ${i}`));
  model.dispose();
});

test('the event loop keeps ticking during a long forward', async (t) => {
  const dir = tmpDir();
  await createTinyQwen3(dir, {
    seed: 1,
    config: {
      hidden_size: 256,
      intermediate_size: 768,
      num_hidden_layers: 4,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      head_dim: 32,
      vocab_size: 4096,
    },
  });
  const model = await Qwen3Model.load(dir, { device: 'cpu', dtype: 'float32' });
  const seqs = Array.from({ length: 64 }, (_, i) => Array.from({ length: 200 }, (_, j) => (i * 31 + j * 7) % 4096));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const started = Date.now();
  await model.lastTokenLogits(seqs);
  const elapsed = Date.now() - started;
  clearInterval(timer);
  model.dispose();
  t.log(`forward took ${elapsed} ms, ${ticks} timer ticks`);
  // If the forward ran on the JS thread no tick could fire until it ended.
  t.true(ticks >= Math.min(10, Math.floor(elapsed / 20)), `${ticks} ticks in ${elapsed} ms`);
});
