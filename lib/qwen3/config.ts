// A Hugging Face Qwen3 config.json: its shape (HF's key names, so files round-trip unchanged; tiny.ts writes them),
// and a reader that rejects, once and with a fix, every value the core does not support.
import * as path from 'path';
import type { NativeQwen3Config } from '../native';
import { AnyJsonObject, readJsonObjectAsync } from '../util/json-file';

export type Qwen3TorchDType = 'float32' | 'bfloat16' | 'float16';

export interface Qwen3HFConfig {
  /** ["Qwen3ForCausalLM"] for chat/base models, ["Qwen3Model"] for embedding models */
  architectures: string[];
  model_type: 'qwen3';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  /** explicit in Qwen3: not hidden_size / num_attention_heads (0.6B: 1024 hidden, 16 heads, head_dim 128) */
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  /** transformers 4.x; transformers 5 writes rope_parameters instead */
  rope_theta?: number;
  rope_scaling?: Record<string, unknown> | null;
  /** transformers 5: { rope_type: 'default', rope_theta } */
  rope_parameters?: Record<string, unknown> | null;
  tie_word_embeddings: boolean;
  vocab_size: number;
  hidden_act: string;
  attention_bias: boolean;
  attention_dropout: number;
  use_sliding_window: boolean;
  sliding_window: number | null;
  max_window_layers: number;
  bos_token_id: number;
  eos_token_id: number;
  torch_dtype: Qwen3TorchDType;
  transformers_version: string;
  initializer_range?: number;
  use_cache?: boolean;
}

export class ConfigError extends Error {}

const CONFIG_FIX =
  "A Hugging Face model folder holds config.json (a JSON object) next to its weights: download the model again, or copy config.json from the model's repository";

/** config.json is a few KB; a file this large is not one (and would cost its size in memory to parse). */
const MAX_CONFIG_BYTES = 16 << 20;

/** Reads dir/config.json (a regular file only); returns the raw HF config and the subset the native core needs. */
export async function readQwen3Config(dir: string): Promise<{ hf: Qwen3HFConfig; native: NativeQwen3Config }> {
  const file = path.join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = await readJsonObjectAsync(file, CONFIG_FIX, AnyJsonObject, MAX_CONFIG_BYTES);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return { hf: raw as unknown as Qwen3HFConfig, native: validateQwen3Config(raw, file) };
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `${typeof value} ${JSON.stringify(value)}`.slice(0, 80);
}

/**
 * The subset of a config.json the native core needs, after checking every value it reads; all problems are listed in
 * one ConfigError. Counts are checked here for type and sign; checkWeightsAgainstConfig (weights-check.ts) then checks
 * them against the weights' shapes, which is what catches num_hidden_layers 1e8.
 */
export function validateQwen3Config(raw: Record<string, unknown>, file = 'config.json'): NativeQwen3Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${file}: expected a JSON object of Qwen3 settings but found ${describeJson(raw)}`);
  }
  if (raw.model_type !== undefined && raw.model_type !== 'qwen3') {
    throw new ConfigError(
      `${file}: model_type is ${JSON.stringify(raw.model_type)}; qwen3-native runs Qwen3 checkpoints (model_type "qwen3") only`
    );
  }
  const problems: string[] = [];
  // A safe integer: 1e300 is an "integer" to Number.isInteger, but not a count anything can hold.
  const count = (key: string, fallback?: number): number => {
    const v = raw[key];
    if (fallback !== undefined && (v === undefined || v === null)) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      problems.push(`${key} must be a positive integer but is ${JSON.stringify(v) ?? 'missing'}`);
      return NaN;
    }
    return v;
  };
  const positiveNumber = (key: string, fallback: number, value: unknown = raw[key]): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      problems.push(`${key} must be a positive number but is ${JSON.stringify(value)}`);
      return NaN;
    }
    return v;
  };
  const hidden = count('hidden_size');
  const layers = count('num_hidden_layers');
  const heads = count('num_attention_heads');
  const kvHeads = count('num_key_value_heads', heads);
  const intermediate = count('intermediate_size');
  // Qwen3 always writes head_dim; older configs imply hidden / heads.
  const headDim = count('head_dim', hidden / heads);
  if (Number.isFinite(headDim) && (!Number.isInteger(headDim) || headDim % 2 !== 0)) {
    problems.push(`head_dim must be an even integer, found ${headDim}`);
  }
  if (Number.isFinite(heads) && Number.isFinite(kvHeads) && heads % kvHeads !== 0) {
    problems.push(`num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`);
  }
  const eps = positiveNumber('rms_norm_eps', 1e-6);
  // transformers 5 saves RoPE's settings as rope_parameters {rope_type, rope_theta} and no rope_theta; 4.x as
  // rope_theta (with rope_scaling). Reading only rope_theta would run every transformers-5 checkpoint at 1e6.
  const rope = raw.rope_parameters;
  const ropeParameters =
    rope !== undefined && rope !== null && typeof rope === 'object' && !Array.isArray(rope)
      ? (rope as Record<string, unknown>)
      : undefined;
  if (rope !== undefined && rope !== null && !ropeParameters)
    problems.push(`rope_parameters must be an object but is ${JSON.stringify(rope)}`);
  const theta =
    ropeParameters?.rope_theta !== undefined
      ? positiveNumber('rope_parameters.rope_theta', 1000000, ropeParameters.rope_theta)
      : positiveNumber('rope_theta', 1000000);
  const tie = raw.tie_word_embeddings;
  if (tie !== undefined && tie !== null && typeof tie !== 'boolean') {
    problems.push(`tie_word_embeddings must be true or false but is ${JSON.stringify(tie)}`);
  }
  if (raw.vocab_size !== undefined && raw.vocab_size !== null) count('vocab_size');
  if (problems.length > 0) {
    throw new ConfigError(`${file}: ${problems.join('; ')}. Fix config.json (or download the model again)`);
  }
  const unsupported: string[] = [];
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
    unsupported.push(
      `rope_scaling ${JSON.stringify(raw.rope_scaling)} (remove it: YaRN/dynamic scaling is not implemented)`
    );
  }
  const ropeType = ropeParameters?.rope_type ?? ropeParameters?.type;
  if (ropeType !== undefined && ropeType !== 'default') {
    unsupported.push(
      `rope_parameters ${JSON.stringify(ropeParameters)} (rope_type must be "default": YaRN/dynamic scaling is not implemented)`
    );
  }
  if (raw.use_sliding_window === true) unsupported.push('use_sliding_window true (set it to false)');
  if (raw.attention_bias === true) unsupported.push('attention_bias true (Qwen3 projections have no bias)');
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') {
    unsupported.push(`hidden_act ${JSON.stringify(raw.hidden_act)} (only "silu")`);
  }
  if (unsupported.length > 0) {
    throw new ConfigError(`${file}: unsupported Qwen3 settings: ${unsupported.join('; ')}`);
  }
  return {
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    intermediate_size: intermediate,
    rms_norm_eps: eps,
    rope_theta: theta,
    tie_word_embeddings: tie === true,
  };
}
