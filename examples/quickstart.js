'use strict';
// Smoke run of the whole stack without downloads: a tiny random Qwen3 in the real HF layout, loaded natively.
const os = require('os');
const path = require('path');
const { createTinyQwen3, Qwen3Model, runtimeInfo } = require('..');

(async () => {
  console.log('runtime:', runtimeInfo());
  const dir = path.join(os.tmpdir(), 'qwen3-native-quickstart');
  await createTinyQwen3(dir, { seed: 1 });
  const model = await Qwen3Model.load(dir, { device: 'auto', dtype: 'auto' });
  const ids = await model.tokenizer.encode('今天天气很好，心情不错！');
  const [logits] = await model.lastTokenLogits([ids]);
  const top = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 5);
  console.log(`tiny random Qwen3 (${model.dtype} on ${model.device}): ${ids.length} tokens, top next-token ids`, top);
  console.log('(a tiny random model is a smoke test, not a sentiment model)');
  model.dispose();
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
