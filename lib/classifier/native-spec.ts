// The native classifier's spec (native.ts NativeClassifierSpec), built in one place for training and prediction: what
// differs between them is said here once (dropout and the optimizer only in training), and every field is always
// sent (the C++ side trusts it and keeps no defaults of its own for them).
import type { Device, DType, NativeClassifierSpec } from '../native';
import type { Qwen3Folder } from '../qwen3/folder';
import { nativeBaseSpec } from './base-model';
import { DEFAULT_END_TOKEN, EMBEDDING_HEAD_DROPOUT, usesLora, type Method } from './methods';

/** torch.optim.AdamW's moment decays and epsilon (the weight decay is the Trainer's `weightDecay` option). */
export const ADAMW = Object.freeze({ beta1: 0.9, beta2: 0.999, eps: 1e-8 });

export interface ClassifierSetup {
  method: Method;
  base: Qwen3Folder;
  device: Device;
  dtype: DType;
  numLabels: number;
  /** embedding: the head over the vectors */
  head: 'linear' | 'mlp';
  /** lora, lora-head: the adapters (other methods: ignored) */
  lora?: { r: number; alpha: number; dropout: number; rslora: boolean; targetModules: string[] };
  /** lora: each label's answer word as tokens, the words concatenated; and tokens per word when not one each */
  labelTokens?: number[];
  labelTokenCounts?: number[];
  /** lora: the token that ends an answer (default <|im_end|>) */
  endToken?: number;
  /** absent: prediction (no dropout, no optimizer) */
  training?: { seed: number; gradientCheckpointing: boolean; weightDecay: number };
}

export function nativeClassifierSpec(s: ClassifierSetup): NativeClassifierSpec {
  const t = s.training;
  return {
    method: s.method,
    training: t !== undefined,
    ...nativeBaseSpec(s.method, s.base, t !== undefined),
    device: s.device,
    dtype: s.dtype,
    lora: s.lora && usesLora(s.method) ? { ...s.lora, dropout: t ? s.lora.dropout : 0 } : undefined,
    head: s.head,
    // The embedding head reads the Qwen3-Embedding model's last hidden state: as wide as its hidden size.
    featureDim: s.method === 'embedding' ? s.base.config.hidden_size : 0,
    headDropout: t ? EMBEDDING_HEAD_DROPOUT : 0,
    numLabels: s.numLabels,
    labelTokens: s.labelTokens ?? [],
    labelTokenCounts: s.labelTokenCounts,
    endToken: s.endToken ?? DEFAULT_END_TOKEN,
    gradientCheckpointing: t?.gradientCheckpointing ?? false,
    seed: t?.seed ?? 0,
    adam: t && { ...ADAMW, weightDecay: t.weightDecay },
  };
}
