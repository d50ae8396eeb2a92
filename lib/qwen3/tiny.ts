// Random-weight Qwen3 models in the exact Hugging Face layout, small enough for tests and CI: the loader,
// the native core and the CLI see the same files a real download produces, only with 64-wide layers.
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../util/atomic-write';
import { namedRandom } from '../util/seeded-random';
import type { Qwen3HFConfig, Qwen3TorchDType } from './config';
import { MODEL_FAMILIES, type ModelFamily } from './presets';
import { writeSafetensors, type TensorToWrite, type WritableDType } from './safetensors';
import { qwen3TokenizerFiles } from './tokenizer';
import { ENDOFTEXT_ID, IM_END_ID, QWEN3_VOCAB_SIZE, QWEN3_EMBEDDING_VOCAB_SIZE } from './tokens';
import {
  expectNonEmptyString,
  expectOptionalOptions,
  expectKnownKeys,
  expectOneOf,
  expectNonNegativeInteger,
  expectPositiveInteger,
  expectPositiveNumber,
  expectNumberInRange,
  expectBoolean,
  expectPlainObject,
  expectString,
  invalidRangeError,
} from '../util/is';

/** The names that mean a model generated locally, and the family each makes ('tiny' follows the caller's family). */
const TINY_SPECS: Record<string, ModelFamily> = {
  tiny: 'causal',
  'tiny-embedding': 'embedding',
  'tiny-scratch': 'causal',
};

/** The spec of the small Qwen3 that method `full` trains from scratch (the README's no-download demo). */
export const SCRATCH_SPEC = 'tiny-scratch';

/** The structural defaults: 2 layers of width 64, GQA with 4 query and 2 key/value heads. */
export const TINY_QWEN3_DEFAULTS = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  tie_word_embeddings: true,
} as const;

/**
 * `tiny-scratch`: the tiny layout itself (TINY_QWEN3_DEFAULTS) with the real Qwen3 tokenizer (all 151,936 vocabulary
 * rows), randomly initialised, to be trained from scratch with method `full` on a CPU. The README's main job (8
 * epochs, lr 5e-3, seed 42 on data/weibo_sample.txt): 78.33% on data/weibo_sample_test.txt, 72 steps in 52 s on 2
 * shared cores (test/long/demo.test.js).
 */
export const SCRATCH_QWEN3_CONFIG: Partial<Qwen3HFConfig> = { ...TINY_QWEN3_DEFAULTS };

/** `tiny`, `tiny-embedding`, `tiny-scratch`: random models generated locally, never downloaded. */
export function isTinySpec(spec: string | undefined): boolean {
  return spec !== undefined && Object.hasOwn(TINY_SPECS, spec.trim());
}

/** `tiny-scratch`: a random model meant to be trained from scratch (method full), not a smoke test. */
export function isScratchSpec(spec: string | undefined): boolean {
  return spec !== undefined && spec.trim() === SCRATCH_SPEC;
}

/** The family of tiny model a spec names (`tiny` takes `family`), or undefined when it names none. */
export function tinyFamily(spec: string, family: ModelFamily): ModelFamily | undefined {
  const trimmed = spec.trim();
  if (!isTinySpec(trimmed)) return undefined;
  return trimmed === 'tiny' ? family : TINY_SPECS[trimmed];
}

/** Where a generated spec lives under the models folder, and how it is made; undefined for other specs. */
export function tinyModelFor(
  spec: string,
  family: ModelFamily
): { name: string; family: ModelFamily; config?: Partial<Qwen3HFConfig> } | undefined {
  const made = tinyFamily(spec, family);
  if (!made) return undefined;
  if (isScratchSpec(spec)) return { name: SCRATCH_SPEC, family: made, config: SCRATCH_QWEN3_CONFIG };
  return { name: made === 'causal' ? 'tiny' : 'tiny-embedding', family: made };
}

export const TINY_QWEN3_DTYPES: readonly Qwen3TorchDType[] = ['float32', 'bfloat16', 'float16'];

export interface CreateTinyQwen3Options {
  /** 'causal' writes a Qwen3ForCausalLM checkpoint, 'embedding' a Qwen3Model one like Qwen3-Embedding (default causal) */
  kind?: ModelFamily;
  /** same seed, same options -> byte-identical files (default 0) */
  seed?: number;
  /** storage dtype of model.safetensors and config.json's torch_dtype (default float32) */
  dtype?: Qwen3TorchDType;
  /** overrides of the tiny defaults, with HF key names; architectures, model_type and torch_dtype follow kind/dtype */
  config?: Partial<Qwen3HFConfig>;
}

export interface TinyQwen3 {
  /** absolute path of the model directory */
  dir: string;
  config: Qwen3HFConfig;
}

const DERIVED_KEYS = ['architectures', 'model_type', 'torch_dtype'] as const;
const POSITIVE_INTEGER_KEYS = [
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'max_position_embeddings',
  'vocab_size',
] as const;
const NON_NEGATIVE_INTEGER_KEYS = ['max_window_layers', 'bos_token_id', 'eos_token_id'] as const;
const POSITIVE_NUMBER_KEYS = ['rms_norm_eps', 'rope_theta', 'initializer_range'] as const;
const BOOLEAN_KEYS = ['tie_word_embeddings', 'attention_bias', 'use_sliding_window', 'use_cache'] as const;
const OVERRIDABLE_KEYS: readonly string[] = [
  ...POSITIVE_INTEGER_KEYS,
  ...NON_NEGATIVE_INTEGER_KEYS,
  ...POSITIVE_NUMBER_KEYS,
  ...BOOLEAN_KEYS,
  'rope_scaling',
  'hidden_act',
  'attention_dropout',
  'sliding_window',
  'transformers_version',
];

function defaultConfig(kind: ModelFamily, dtype: Qwen3TorchDType): Qwen3HFConfig {
  const embedding = kind === 'embedding';
  return {
    architectures: [embedding ? 'Qwen3Model' : 'Qwen3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0,
    bos_token_id: ENDOFTEXT_ID,
    eos_token_id: embedding ? ENDOFTEXT_ID : IM_END_ID,
    head_dim: TINY_QWEN3_DEFAULTS.head_dim,
    hidden_act: 'silu',
    hidden_size: TINY_QWEN3_DEFAULTS.hidden_size,
    initializer_range: 0.02,
    intermediate_size: TINY_QWEN3_DEFAULTS.intermediate_size,
    max_position_embeddings: 40960,
    max_window_layers: TINY_QWEN3_DEFAULTS.num_hidden_layers,
    model_type: 'qwen3',
    num_attention_heads: TINY_QWEN3_DEFAULTS.num_attention_heads,
    num_hidden_layers: TINY_QWEN3_DEFAULTS.num_hidden_layers,
    num_key_value_heads: TINY_QWEN3_DEFAULTS.num_key_value_heads,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: TINY_QWEN3_DEFAULTS.tie_word_embeddings,
    torch_dtype: dtype,
    transformers_version: embedding ? '4.51.3' : '4.51.0',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: embedding ? QWEN3_EMBEDDING_VOCAB_SIZE : QWEN3_VOCAB_SIZE,
  };
}

function validateOverrides(overrides: unknown): asserts overrides is Partial<Qwen3HFConfig> {
  expectPlainObject(overrides, 'options.config');
  for (const key of DERIVED_KEYS) {
    if (key in overrides) {
      throw new TypeError(`options.config.${key} is set by options.kind/options.dtype and cannot be overridden`);
    }
  }
  expectKnownKeys(overrides, 'options.config', OVERRIDABLE_KEYS);
  const name = (key: string) => `options.config.${key}`;
  for (const key of POSITIVE_INTEGER_KEYS) if (key in overrides) expectPositiveInteger(overrides[key], name(key));
  for (const key of NON_NEGATIVE_INTEGER_KEYS)
    if (key in overrides) expectNonNegativeInteger(overrides[key], name(key));
  for (const key of POSITIVE_NUMBER_KEYS) if (key in overrides) expectPositiveNumber(overrides[key], name(key));
  for (const key of BOOLEAN_KEYS) if (key in overrides) expectBoolean(overrides[key], name(key));
  if ('attention_dropout' in overrides)
    expectNumberInRange(overrides.attention_dropout, name('attention_dropout'), 0, 1);
  if ('hidden_act' in overrides) expectString(overrides.hidden_act, name('hidden_act'));
  if ('transformers_version' in overrides) expectString(overrides.transformers_version, name('transformers_version'));
  if ('sliding_window' in overrides && overrides.sliding_window !== null) {
    expectPositiveInteger(overrides.sliding_window, name('sliding_window'));
  }
  if ('rope_scaling' in overrides && overrides.rope_scaling !== null) {
    expectPlainObject(overrides.rope_scaling, name('rope_scaling'));
  }
}

/** Cross-key rules the model itself imposes. */
function validateConsistency(config: Qwen3HFConfig): void {
  if (config.num_attention_heads % config.num_key_value_heads !== 0) {
    throw invalidRangeError(
      `divisor of num_attention_heads (${config.num_attention_heads})`,
      'options.config.num_key_value_heads',
      config.num_key_value_heads
    );
  }
  if (config.head_dim % 2 !== 0) {
    // RoPE rotates the two halves of each head against each other.
    throw invalidRangeError('even positive integer', 'options.config.head_dim', config.head_dim);
  }
  if (config.max_window_layers > config.num_hidden_layers) {
    throw invalidRangeError(
      `integer no larger than num_hidden_layers (${config.num_hidden_layers})`,
      'options.config.max_window_layers',
      config.max_window_layers
    );
  }
}

interface WeightSpec {
  /** HF name without the `model.` prefix of causal models */
  name: string;
  shape: number[];
  init: 'linear' | 'residual-out' | 'norm' | 'embedding';
}

function weightSpecs(config: Qwen3HFConfig): WeightSpec[] {
  const { hidden_size: hidden, intermediate_size: intermediate, head_dim: headDim } = config;
  const queryWidth = config.num_attention_heads * headDim;
  const keyValueWidth = config.num_key_value_heads * headDim;
  const specs: WeightSpec[] = [{ name: 'embed_tokens.weight', shape: [config.vocab_size, hidden], init: 'embedding' }];
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const at = `layers.${layer}.`;
    specs.push(
      { name: `${at}input_layernorm.weight`, shape: [hidden], init: 'norm' },
      { name: `${at}self_attn.q_proj.weight`, shape: [queryWidth, hidden], init: 'linear' },
      { name: `${at}self_attn.k_proj.weight`, shape: [keyValueWidth, hidden], init: 'linear' },
      { name: `${at}self_attn.v_proj.weight`, shape: [keyValueWidth, hidden], init: 'linear' },
      { name: `${at}self_attn.q_norm.weight`, shape: [headDim], init: 'norm' },
      { name: `${at}self_attn.k_norm.weight`, shape: [headDim], init: 'norm' },
      { name: `${at}self_attn.o_proj.weight`, shape: [hidden, queryWidth], init: 'residual-out' },
      { name: `${at}post_attention_layernorm.weight`, shape: [hidden], init: 'norm' },
      { name: `${at}mlp.gate_proj.weight`, shape: [intermediate, hidden], init: 'linear' },
      { name: `${at}mlp.up_proj.weight`, shape: [intermediate, hidden], init: 'linear' },
      { name: `${at}mlp.down_proj.weight`, shape: [hidden, intermediate], init: 'residual-out' }
    );
  }
  specs.push({ name: 'norm.weight', shape: [hidden], init: 'norm' });
  return specs;
}

/**
 * Fills one weight. HF's N(0, 0.02) makes a 64-wide model nearly linear and its logits nearly uniform, which hides
 * bugs in tests, so the scales here keep every stage at unit order instead:
 * - linears: std 1/sqrt(in_features), so outputs of normalised inputs have unit variance;
 * - o_proj/down_proj additionally / sqrt(2 * layers) (GPT-2's residual scaling), so the residual stream stays O(1);
 * - embeddings: std 1/sqrt(hidden) (rows of norm ~1, the ratio real Qwen3 has), which with tied weights gives
 *   logits of std ~1 after the final norm;
 * - norm weights: 1 + N(0, 0.1), near identity but not exactly, so a missing or misplaced norm weight shows.
 */
function initialWeight(spec: WeightSpec, config: Qwen3HFConfig, seed: number): Float32Array {
  const elements = spec.shape.reduce((product, size) => product * size, 1);
  // Streams are keyed by name, so causal and embedding models (and tied/untied ones) share their weights.
  const random = namedRandom(seed, spec.name);
  const values = new Float32Array(elements);
  switch (spec.init) {
    case 'norm':
      return random.fillNormal(values, 1, 0.1);
    case 'embedding':
      return random.fillNormal(values, 0, 1 / Math.sqrt(config.hidden_size));
    case 'linear':
      return random.fillNormal(values, 0, 1 / Math.sqrt(spec.shape[1]));
    case 'residual-out':
      return random.fillNormal(values, 0, 1 / Math.sqrt(spec.shape[1] * 2 * config.num_hidden_layers));
  }
}

const SAFETENSORS_DTYPE: Record<Qwen3TorchDType, WritableDType> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };

/**
 * Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json for a random-weight Qwen3 into
 * `dir` (created if missing; existing files of those names are replaced).
 *
 * Both kinds get the real Qwen3 tokenizer unchanged. Qwen3-Embedding's own tokenizer.json appends <|endoftext|>
 * in its post-processor, but lib/ never relies on post-processors (it encodes without special tokens and appends
 * ENDOFTEXT_ID itself), so the copy is equivalent for this package.
 * A vocab_size below 151,669 is allowed for fast core tests, but then not every token the tokenizer produces exists.
 */
export async function createTinyQwen3(dir: string, options?: CreateTinyQwen3Options): Promise<TinyQwen3> {
  expectNonEmptyString(dir, 'dir');
  const settings = expectOptionalOptions(options);
  expectKnownKeys(settings, 'options', ['kind', 'seed', 'dtype', 'config']);
  const { kind = 'causal', seed = 0, dtype = 'float32', config: overrides = {} } = settings;
  expectOneOf(kind, 'options.kind', MODEL_FAMILIES);
  expectNonNegativeInteger(seed, 'options.seed');
  expectOneOf(dtype, 'options.dtype', TINY_QWEN3_DTYPES);
  validateOverrides(overrides);

  const config: Qwen3HFConfig = { ...defaultConfig(kind, dtype), ...overrides };
  if (!('max_window_layers' in overrides)) config.max_window_layers = config.num_hidden_layers;
  validateConsistency(config);

  const prefix = kind === 'causal' ? 'model.' : '';
  const storage = SAFETENSORS_DTYPE[dtype];
  const tensors: Record<string, TensorToWrite> = {};
  for (const spec of weightSpecs(config)) {
    tensors[prefix + spec.name] = { dtype: storage, shape: spec.shape, data: initialWeight(spec, config, seed) };
  }
  if (kind === 'causal' && !config.tie_word_embeddings) {
    // Same scale as the embedding so untied logits are as well scaled as tied ones.
    const spec: WeightSpec = {
      name: 'lm_head.weight',
      shape: [config.vocab_size, config.hidden_size],
      init: 'embedding',
    };
    tensors['lm_head.weight'] = { dtype: storage, shape: spec.shape, data: initialWeight(spec, config, seed) };
  }

  const target = path.resolve(dir);
  await fs.promises.mkdir(target, { recursive: true });
  await writeSafetensors(path.join(target, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileAtomic(path.join(target, 'config.json'), `${JSON.stringify(sortKeys(config), null, 2)}\n`);
  const tokenizer = qwen3TokenizerFiles();
  await fs.promises.copyFile(tokenizer.tokenizerJson, path.join(target, 'tokenizer.json'));
  await fs.promises.copyFile(tokenizer.tokenizerConfigJson, path.join(target, 'tokenizer_config.json'));
  return { dir: target, config };
}

/** HF writes config.json with sorted keys; doing the same keeps the files diffable against real ones. */
function sortKeys(config: Qwen3HFConfig): Record<string, unknown> {
  const record = config as unknown as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, record[key]])
  );
}
