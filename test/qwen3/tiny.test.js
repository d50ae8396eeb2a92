const test = require('ava');
const fs = require('fs');
const path = require('path');
const { TINY_QWEN3_DEFAULTS } = require('../../dist/qwen3/tiny');
const { createTinyQwen3 } = require('../../dist');
const { readSafetensorsHeader } = require('../../dist/qwen3/safetensors');
const { readSafetensors } = require('../helpers/safetensors');
const { qwen3TokenizerFiles } = require('../../dist/qwen3/tokenizer');
const { tmpDir } = require('../helpers/util');

const root = tmpDir('qwen3-native-tiny-');
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

function tempDir() {
  return fs.mkdtempSync(path.join(root, 'model-'));
}

const CONFIG_KEYS = [
  'architectures',
  'attention_bias',
  'attention_dropout',
  'bos_token_id',
  'eos_token_id',
  'head_dim',
  'hidden_act',
  'hidden_size',
  'initializer_range',
  'intermediate_size',
  'max_position_embeddings',
  'max_window_layers',
  'model_type',
  'num_attention_heads',
  'num_hidden_layers',
  'num_key_value_heads',
  'rms_norm_eps',
  'rope_scaling',
  'rope_theta',
  'sliding_window',
  'tie_word_embeddings',
  'torch_dtype',
  'transformers_version',
  'use_cache',
  'use_sliding_window',
  'vocab_size',
];

/** The tensors a Qwen3 checkpoint must hold, with shapes derived from its config (HF's modeling_qwen3.py). */
function expectedTensors(config, prefix, withLmHead) {
  const h = config.hidden_size;
  const expected = { [`${prefix}embed_tokens.weight`]: [config.vocab_size, h], [`${prefix}norm.weight`]: [h] };
  for (let n = 0; n < config.num_hidden_layers; n++) {
    const at = `${prefix}layers.${n}.`;
    expected[`${at}self_attn.q_proj.weight`] = [config.num_attention_heads * config.head_dim, h];
    expected[`${at}self_attn.k_proj.weight`] = [config.num_key_value_heads * config.head_dim, h];
    expected[`${at}self_attn.v_proj.weight`] = [config.num_key_value_heads * config.head_dim, h];
    expected[`${at}self_attn.o_proj.weight`] = [h, config.num_attention_heads * config.head_dim];
    expected[`${at}self_attn.q_norm.weight`] = [config.head_dim];
    expected[`${at}self_attn.k_norm.weight`] = [config.head_dim];
    expected[`${at}mlp.gate_proj.weight`] = [config.intermediate_size, h];
    expected[`${at}mlp.up_proj.weight`] = [config.intermediate_size, h];
    expected[`${at}mlp.down_proj.weight`] = [h, config.intermediate_size];
    expected[`${at}input_layernorm.weight`] = [h];
    expected[`${at}post_attention_layernorm.weight`] = [h];
  }
  if (withLmHead) expected['lm_head.weight'] = [config.vocab_size, h];
  return expected;
}

async function checkCheckpoint(t, dir, config, { prefix, withLmHead, dtype }) {
  const header = await readSafetensorsHeader(path.join(dir, 'model.safetensors'));
  const expected = expectedTensors(config, prefix, withLmHead);
  t.deepEqual([...header.keys].sort(), Object.keys(expected).sort());
  for (const [name, shape] of Object.entries(expected)) {
    t.deepEqual(header.tensors[name].shape, shape, name);
    t.is(header.tensors[name].dtype, dtype, name);
  }
  t.deepEqual(header.metadata, { format: 'pt' });
  const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  t.deepEqual(onDisk, config);
  t.deepEqual(Object.keys(onDisk).sort(), CONFIG_KEYS);
  const bundled = qwen3TokenizerFiles();
  t.true(fs.readFileSync(path.join(dir, 'tokenizer.json')).equals(fs.readFileSync(bundled.tokenizerJson)));
  t.true(fs.readFileSync(path.join(dir, 'tokenizer_config.json')).equals(fs.readFileSync(bundled.tokenizerConfigJson)));
}

test('default causal model: HF layout, real Qwen3 config keys, tied embeddings', async (t) => {
  const target = path.join(tempDir(), 'nested', 'causal');
  const { dir, config } = await createTinyQwen3(target);
  t.is(dir, path.resolve(target));
  t.deepEqual(config.architectures, ['Qwen3ForCausalLM']);
  t.is(config.model_type, 'qwen3');
  t.is(config.vocab_size, 151936);
  t.is(config.eos_token_id, 151645);
  t.is(config.bos_token_id, 151643);
  t.is(config.max_position_embeddings, 40960);
  t.is(config.rms_norm_eps, 1e-6);
  t.is(config.rope_theta, 1000000);
  t.is(config.rope_scaling, null);
  t.is(config.sliding_window, null);
  t.false(config.use_sliding_window);
  t.false(config.attention_bias);
  t.is(config.hidden_act, 'silu');
  t.is(config.torch_dtype, 'float32');
  t.is(config.max_window_layers, config.num_hidden_layers);
  for (const [key, value] of Object.entries(TINY_QWEN3_DEFAULTS)) t.is(config[key], value, key);
  await checkCheckpoint(t, dir, config, { prefix: 'model.', withLmHead: false, dtype: 'F32' });
});

test('embedding model: Qwen3Model keys without prefix, no lm_head, vocab 151669', async (t) => {
  const { dir, config } = await createTinyQwen3(tempDir(), { kind: 'embedding', seed: 3 });
  t.deepEqual(config.architectures, ['Qwen3Model']);
  t.is(config.vocab_size, 151669);
  t.is(config.eos_token_id, 151643);
  await checkCheckpoint(t, dir, config, { prefix: '', withLmHead: false, dtype: 'F32' });
});

test('bfloat16, untied and custom sizes', async (t) => {
  const { dir, config } = await createTinyQwen3(tempDir(), {
    dtype: 'bfloat16',
    seed: 5,
    config: {
      tie_word_embeddings: false,
      vocab_size: 1000,
      hidden_size: 32,
      num_hidden_layers: 3,
      head_dim: 8,
      num_attention_heads: 6,
      num_key_value_heads: 3,
      intermediate_size: 48,
    },
  });
  t.is(config.torch_dtype, 'bfloat16');
  t.false(config.tie_word_embeddings);
  t.is(config.max_window_layers, 3);
  await checkCheckpoint(t, dir, config, { prefix: 'model.', withLmHead: true, dtype: 'BF16' });
  const { tensors } = await readSafetensors(path.join(dir, 'model.safetensors'));
  t.notDeepEqual(tensors['lm_head.weight'].data, tensors['model.embed_tokens.weight'].data);
});

test('float16 storage', async (t) => {
  const { dir, config } = await createTinyQwen3(tempDir(), { dtype: 'float16', config: { vocab_size: 500 } });
  t.is(config.torch_dtype, 'float16');
  await checkCheckpoint(t, dir, config, { prefix: 'model.', withLmHead: false, dtype: 'F16' });
});

test('weights are finite and well scaled', async (t) => {
  const { dir, config } = await createTinyQwen3(tempDir(), { seed: 11, config: { vocab_size: 4000 } });
  const { tensors } = await readSafetensors(path.join(dir, 'model.safetensors'));
  const stats = (data) => {
    let sum = 0;
    let squares = 0;
    for (const v of data) {
      sum += v;
      squares += v * v;
    }
    const mean = sum / data.length;
    return { mean, std: Math.sqrt(squares / data.length - mean * mean) };
  };
  for (const [name, { data }] of Object.entries(tensors)) t.true(data.every(Number.isFinite), name);
  const norm = stats(tensors['model.layers.0.input_layernorm.weight'].data);
  t.true(Math.abs(norm.mean - 1) < 0.1 && norm.std > 0.02 && norm.std < 0.3, JSON.stringify(norm));
  const q = stats(tensors['model.layers.1.self_attn.q_proj.weight'].data);
  t.true(Math.abs(q.std - 1 / Math.sqrt(config.hidden_size)) < 0.02, JSON.stringify(q));
  const embed = stats(tensors['model.embed_tokens.weight'].data);
  t.true(Math.abs(embed.std - 1 / Math.sqrt(config.hidden_size)) < 0.01, JSON.stringify(embed));
});

test('same seed gives byte-identical files; another seed differs', async (t) => {
  const options = { seed: 42, dtype: 'bfloat16', config: { vocab_size: 2048 } };
  const a = await createTinyQwen3(tempDir(), options);
  const b = await createTinyQwen3(tempDir(), options);
  const c = await createTinyQwen3(tempDir(), { ...options, seed: 43 });
  const read = (dir, file) => fs.readFileSync(path.join(dir, file));
  t.true(read(a.dir, 'model.safetensors').equals(read(b.dir, 'model.safetensors')));
  t.true(read(a.dir, 'config.json').equals(read(b.dir, 'config.json')));
  t.false(read(a.dir, 'model.safetensors').equals(read(c.dir, 'model.safetensors')));
});

test('causal and embedding models with one seed share their weights', async (t) => {
  const config = { vocab_size: 300 };
  const causal = await createTinyQwen3(tempDir(), { seed: 9, config });
  const embedding = await createTinyQwen3(tempDir(), { seed: 9, kind: 'embedding', config });
  const a = (await readSafetensors(path.join(causal.dir, 'model.safetensors'))).tensors;
  const b = (await readSafetensors(path.join(embedding.dir, 'model.safetensors'))).tensors;
  t.deepEqual(a['model.layers.1.mlp.down_proj.weight'].data, b['layers.1.mlp.down_proj.weight'].data);
  t.deepEqual(a['model.embed_tokens.weight'].data, b['embed_tokens.weight'].data);
});

test('validation errors name the option and the value', async (t) => {
  const dir = tempDir();
  const cases = [
    [{ kind: 'chat' }, RangeError, 'Expected one of "causal", "embedding" for options.kind but received "chat"'],
    [{ seed: -1 }, RangeError, 'Expected non-negative integer for options.seed but received -1'],
    [{ seed: 1.5 }, RangeError, 'Expected non-negative integer for options.seed but received 1.5'],
    [
      { dtype: 'fp8' },
      RangeError,
      'Expected one of "float32", "bfloat16", "float16" for options.dtype but received "fp8"',
    ],
    [
      { config: { num_hidden_layers: 0 } },
      RangeError,
      'Expected positive integer for options.config.num_hidden_layers but received 0',
    ],
    [
      { config: { hidden_size: '64' } },
      TypeError,
      'Expected positive integer for options.config.hidden_size but received "64"',
    ],
    [
      { config: { num_key_value_heads: 3 } },
      RangeError,
      'Expected divisor of num_attention_heads (4) for options.config.num_key_value_heads but received 3',
    ],
    [
      { config: { head_dim: 15 } },
      RangeError,
      'Expected even positive integer for options.config.head_dim but received 15',
    ],
    [
      { config: { rms_norm_eps: 0 } },
      RangeError,
      'Expected positive number for options.config.rms_norm_eps but received 0',
    ],
    [
      { config: { tie_word_embeddings: 'no' } },
      TypeError,
      'Expected boolean for options.config.tie_word_embeddings but received "no"',
    ],
    [{ config: { hidden_sise: 64 } }, TypeError, /Unknown key "hidden_sise" in options.config/],
    [{ config: { architectures: ['X'] } }, TypeError, /architectures is set by options.kind/],
    [{ config: [1] }, TypeError, 'Expected plain object for options.config but received [1]'],
    [{ colour: 'red' }, TypeError, /Unknown key "colour" in options/],
  ];
  for (const [options, type, message] of cases) {
    await t.throwsAsync(createTinyQwen3(dir, options), { instanceOf: type, message }, JSON.stringify(options));
  }
  await t.throwsAsync(createTinyQwen3(''), { message: 'Expected non-empty string for dir but received ""' });
  await t.throwsAsync(createTinyQwen3(dir, 'big'), { message: 'Expected plain object for options but received "big"' });
  t.deepEqual(fs.readdirSync(dir), [], 'nothing written when validation fails');
});
