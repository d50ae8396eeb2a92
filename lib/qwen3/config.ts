// A Hugging Face Qwen3 config.json: its shape (HF's key names, so files round-trip unchanged; tiny.ts writes them),
// and a reader that rejects, once and with a fix, every value the core does not support.
import * as path from 'path';
import type { NativeQwen3Config } from '../native';
import { readJsonObject } from '../util/json-file';

export type Qwen3TorchDType = 'float32' | 'bfloat16' | 'float16';

export interface Qwen3HFConfig {
  /** ["Qwen3ForCausalLM"] for chat/base checkpoints, ["Qwen3Model"] for embedding checkpoints */
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
  rope_theta: number;
  rope_scaling: Record<string, unknown> | null;
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

function positiveInteger(config: Record<string, unknown>, key: string, file: string): number {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ConfigError(`${file}: expected a positive integer for ${key} but found ${JSON.stringify(v)}`);
  }
  return v;
}

/** Reads dir/config.json; returns the raw HF config and the subset the native core needs. */
export function readQwen3Config(dir: string): { hf: Qwen3HFConfig; native: NativeQwen3Config } {
  const file = path.join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = readJsonObject(file, CONFIG_FIX);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return { hf: raw as unknown as Qwen3HFConfig, native: validateQwen3Config(raw, file) };
}

export function validateQwen3Config(raw: Record<string, unknown>, file = 'config.json'): NativeQwen3Config {
  if (raw.model_type !== undefined && raw.model_type !== 'qwen3') {
    throw new ConfigError(
      `${file}: model_type is ${JSON.stringify(raw.model_type)}; qwen3-native runs Qwen3 checkpoints (model_type "qwen3") only`
    );
  }
  const hidden = positiveInteger(raw, 'hidden_size', file);
  const heads = positiveInteger(raw, 'num_attention_heads', file);
  const kvHeads = raw.num_key_value_heads === undefined ? heads : positiveInteger(raw, 'num_key_value_heads', file);
  // Qwen3 always writes head_dim; older configs imply hidden / heads.
  const headDim =
    raw.head_dim === undefined || raw.head_dim === null ? hidden / heads : positiveInteger(raw, 'head_dim', file);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new ConfigError(`${file}: head_dim must be an even integer, found ${headDim}`);
  }
  if (heads % kvHeads !== 0) {
    throw new ConfigError(
      `${file}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`
    );
  }
  const unsupported: string[] = [];
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
    unsupported.push(
      `rope_scaling ${JSON.stringify(raw.rope_scaling)} (remove it: YaRN/dynamic scaling is not implemented)`
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
  const eps = raw.rms_norm_eps ?? 1e-6;
  const theta = raw.rope_theta ?? 1000000;
  if (typeof eps !== 'number' || !(eps > 0)) throw new ConfigError(`${file}: rms_norm_eps must be a positive number`);
  if (typeof theta !== 'number' || !(theta > 0)) throw new ConfigError(`${file}: rope_theta must be a positive number`);
  return {
    hidden_size: hidden,
    num_hidden_layers: positiveInteger(raw, 'num_hidden_layers', file),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    intermediate_size: positiveInteger(raw, 'intermediate_size', file),
    rms_norm_eps: eps,
    rope_theta: theta,
    tie_word_embeddings: raw.tie_word_embeddings === undefined ? false : raw.tie_word_embeddings === true,
  };
}
