'use strict';
// A run whose trained weights hold NaN or infinity (saved by a training that diverged) is refused when it loads, naming
// the tensors, instead of loading and then answering every text with non-finite probabilities (serve said ready and
// answered 500 to every request).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { createTinyQwen3, Predictor } = require('../../dist');
const { readSafetensorsHeader } = require('../../dist/qwen3/safetensors');
const { FIXTURES, tmpDir } = require('../helpers/util');

let causal;
test.before(async () => {
  causal = path.join(tmpDir(), 'causal');
  await createTinyQwen3(causal, { seed: 7 });
});

/** A copy of the fixture run `method` with `value` written into the first element of its tensor number `index`. */
async function spoiled(method, value, index) {
  const dir = path.join(tmpDir(), method);
  fs.cpSync(path.join(FIXTURES, 'runs-binary', method), dir, { recursive: true });
  const file = path.join(dir, 'adapter_model.safetensors');
  const header = await readSafetensorsHeader(file);
  const name = header.keys[index];
  const bytes = fs.readFileSync(file);
  bytes.writeFloatLE(value, header.dataOffset + header.tensors[name].data_offsets[0]);
  fs.writeFileSync(file, bytes);
  return { dir, name };
}

for (const [method, value] of [
  ['lora', NaN],
  ['lora-head', Infinity],
]) {
  test(`${method}: weights holding ${value} are refused at load, naming the tensor`, async (t) => {
    const { dir, name } = await spoiled(method, value, 1);
    const p = new Predictor({ checkpoint: dir, model: causal, device: 'cpu', dtype: 'float32' });
    try {
      const e = await t.throwsAsync(p.load());
      t.true(e.message.includes(`adapter_model.safetensors holds NaN or infinite values (${name})`), e.message);
      t.regex(e.message, /train it again \(with a lower --learning-rate\)/);
    } finally {
      p.dispose();
    }
  });
}

test('full: a NaN anywhere in the whole model is refused at load, naming the tensor', async (t) => {
  const { Trainer } = require('../../dist');
  const run = path.join(tmpDir(), 'full');
  await new Trainer({
    method: 'full',
    model: causal,
    output: run,
    device: 'cpu',
    dtype: 'float32',
    epochs: 1,
    batchSize: 8,
    maxLength: 16,
    cacheDir: tmpDir(),
  }).train({ texts: ['好', '坏', '很好', '很坏', '不错', '太差', '喜欢', '讨厌'], labels: [1, 0, 1, 0, 1, 0, 1, 0] });
  const file = path.join(run, 'model.safetensors');
  const header = await readSafetensorsHeader(file);
  const name = header.keys.find((k) => k.includes('layers.1.mlp.down_proj'));
  const { dtype, data_offsets } = header.tensors[name];
  t.is(dtype, 'F32');
  const bytes = fs.readFileSync(file);
  bytes.writeFloatLE(NaN, header.dataOffset + data_offsets[0] + 4 * 5);
  fs.writeFileSync(file, bytes);
  const p = new Predictor({ checkpoint: run, device: 'cpu', dtype: 'float32' });
  try {
    const e = await t.throwsAsync(p.load());
    t.true(e.message.includes(`model.safetensors holds NaN or infinite values (${name})`), e.message);
  } finally {
    p.dispose();
  }
});

test('finite weights load as before', async (t) => {
  const { dir } = await spoiled('lora', 0.5, 1);
  const p = new Predictor({ checkpoint: dir, model: causal, device: 'cpu', dtype: 'float32' });
  try {
    await t.notThrowsAsync(p.load());
  } finally {
    p.dispose();
  }
});
