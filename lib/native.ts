// The ONE typed description of what the native addon (csrc/binding) exports, and its loader.
// Everything here is trusted input: lib/ validates user arguments before they reach these calls.
import { detectLibtorch, loadAddon, type NativeLoadReport } from './native-loader';

export type { LibtorchFound, AddonChoice, AddonMeta, NativeLoadReport } from './native-loader';

export type Device = 'cpu' | 'cuda';
export type DType = 'float32' | 'bfloat16' | 'float16';

export interface RuntimeInfo {
  libtorchVersion: string;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  /** intra-op threads libtorch uses */
  threads: number;
  /** the CPU has native bf16 arithmetic (AVX512-BF16 or AMX-BF16) */
  cpuBf16: boolean;
}

/** Hugging Face config.json keys the core needs; validated in lib/config.ts. */
export interface NativeQwen3Config {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
}

export interface NativeLoadOptions {
  /** safetensors files; all tensors of the model must be found in them */
  files: string[];
  config: NativeQwen3Config;
  device: Device;
  dtype: DType;
}

export interface NativeLoadResult {
  vocabSize: number;
  /** '' (Qwen3Model, embedding checkpoints) or 'model.' (Qwen3ForCausalLM) */
  keyPrefix: string;
  hasLmHead: boolean;
  /** bytes of parameter storage the model holds */
  parameterBytes: number;
}

/**
 * A batch crosses the boundary as concatenated token ids plus per-sequence lengths.
 * padLeft chooses how the core pads internally; results do not depend on it.
 */
/** Work counters since creation: tokens run through the layers, and shared-prompt tokens reused instead */
export interface RunStats {
  tokensRun: number;
  /** a cached prompt's length, counted once for every sequence that started with it */
  tokensReused: number;
}

export interface NativeModel {
  load(options: NativeLoadOptions): Promise<NativeLoadResult>;
  /** [batch * vocab] logits at each sequence's last token, float32 */
  lastTokenLogits(ids: Int32Array, lengths: Int32Array, padLeft: boolean): Promise<Float32Array>;
  /** [batch * hidden] final-norm hidden state at each sequence's last token, optionally L2-normalised */
  lastTokenHidden(ids: Int32Array, lengths: Int32Array, padLeft: boolean, normalize: boolean): Promise<Float32Array>;
  stats(): RunStats;
  /** frees the weights; safe to call more than once; calls after it reject */
  dispose(): void;
}

export type NativeMethod = 'lora' | 'lora-head' | 'full' | 'embedding';

export interface NativeLoraSpec {
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  /** HF module names to wrap, e.g. ['q_proj', 'v_proj'] */
  targetModules: string[];
}

export interface NativeClassifierSpec {
  method: NativeMethod;
  /** false: prediction only (no optimizer state) */
  training: boolean;
  /** base checkpoint (not for 'embedding') */
  files?: string[];
  config?: NativeQwen3Config;
  device?: Device;
  dtype?: DType;
  lora?: NativeLoraSpec;
  /** embedding method: 'linear' or 'mlp' head over featureDim-wide vectors */
  head?: 'linear' | 'mlp';
  featureDim?: number;
  headDropout?: number;
  numLabels: number;
  /** lora method: the token id that answers each label (label 0 first) */
  labelTokens?: number[];
  /** lora method: the token that ends an answer */
  endToken?: number;
  gradientCheckpointing?: boolean;
  seed: number;
  adam?: { beta1: number; beta2: number; eps: number; weightDecay: number };
}

export interface NativeLoss {
  /** mean loss of the micro-batch */
  loss: number;
  /** loss terms (answer tokens for lora, examples otherwise) */
  terms: number;
  /** real input tokens */
  tokens: number;
}

/**
 * Training and prediction for the four methods. Weights are saved in their on-disk names: PEFT keys for lora and
 * lora-head (adapter_model.safetensors), HF keys plus score.weight for full, classifier.* for the embedding head.
 */
export interface NativeClassifier {
  init(spec: NativeClassifierSpec): Promise<{ trainableParameters: number; parameterBytes: number }>;
  /** forward + backward; gradients times lossScale accumulate until step() */
  accumulate(ids: Int32Array, lengths: Int32Array, padLeft: boolean, labels: Int32Array, lossScale: number): Promise<NativeLoss>;
  accumulateFeatures(features: Float32Array, rows: number, labels: Int32Array, lossScale: number): Promise<NativeLoss>;
  /** AdamW step with global-norm clipping (maxGradNorm <= 0: none); returns the norm before clipping */
  step(learningRate: number, maxGradNorm: number): Promise<number>;
  /** [batch * numLabels] class probabilities */
  predict(ids: Int32Array, lengths: Int32Array, padLeft: boolean): Promise<Float32Array>;
  predictFeatures(features: Float32Array, rows: number): Promise<Float32Array>;
  saveWeights(file: string): Promise<void>;
  loadWeights(file: string): Promise<void>;
  /** optimizer moments, step count and RNG state */
  saveTrainingState(file: string): Promise<void>;
  loadTrainingState(file: string): Promise<void>;
  /** accumulated gradients by on-disk name */
  gradients(): Promise<Record<string, Float32Array>>;
  merge(): Promise<void>;
  unmerge(): Promise<void>;
  /** prediction's counters */
  stats(): RunStats;
  dispose(): void;
}

export interface NativeBinding {
  runtimeInfo(): RuntimeInfo;
  setNumThreads(threads: number): void;
  Model: new () => NativeModel;
  Classifier: new () => NativeClassifier;
}

let cached: NativeBinding | undefined;
const report: NativeLoadReport = { libtorch: null, libtorchError: null, addon: null };

/**
 * Loads the addon: a local build (build/Release) or the prebuilt one for the libtorch found (lib/native-loader.ts).
 * Throws one message saying what was found, what the package ships and what to install or run.
 */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  cached = loadAddon(report) as NativeBinding;
  return cached;
}

/** Which libtorch was found and which addon file was chosen (after loadNative, which may have thrown). */
export function nativeLoadReport(): NativeLoadReport {
  if (!report.libtorch && !report.libtorchError) {
    const d = detectLibtorch();
    report.libtorch = d.libtorch;
    report.libtorchError = d.error;
  }
  return report;
}
