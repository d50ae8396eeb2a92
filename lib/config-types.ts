// The shape of a Qwen3 Hugging Face config.json, with HF's key names so files round-trip unchanged.
// lib/config.ts reads and validates real files; lib/tiny.ts writes them.

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
