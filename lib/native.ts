// The ONE typed description of what the native addon (csrc/binding) exports, and its loader.
// Everything here is trusted input: lib/ validates user arguments before they reach these calls.
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { addressSpaceLimit } from './util/memory';
import { adoptDetection, detectLibtorch, loadAddon, type Detected, type NativeLoadReport } from './native-loader';

export type { LibtorchFound, AddonChoice, AddonMeta, NativeLoadReport } from './native-loader';

/** 'cuda' is CUDA device 0, 'cuda:N' device N (lib/qwen3/runtime.ts parses and checks them). */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
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

/** Bytes and counts of the pooling CPU allocator; installed is false when QWEN3_NATIVE_CPU_POOL=0 left glibc's. */
export interface CpuPoolStats {
  installed: boolean;
  /** pooled blocks (64 KB and up) held by tensors now, and the most that has been */
  inUse: number;
  peakInUse: number;
  /** freed blocks waiting for reuse (resident), and the cap on them */
  cached: number;
  cacheLimit: number;
  /** requests served from the cache / that mapped a new block; cached blocks unmapped to stay under the cap */
  reused: number;
  mapped: number;
  released: number;
}

/** Hugging Face config.json keys the core needs; validated in lib/qwen3/config.ts. */
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

/**
 * Whether a CPU model keeps embed_tokens in its safetensors file and reads the rows it looks up: 'auto' when the table
 * is big enough to be worth it (64 MB, so Qwen3-0.6B and larger). lib/ takes it from QWEN3_NATIVE_MAP_EMBEDDINGS.
 */
export type EmbeddingMapping = 'auto' | 'always' | 'never';

export interface NativeLoadOptions {
  /** safetensors files; all tensors of the model must be found in them */
  files: string[];
  config: NativeQwen3Config;
  device: Device;
  dtype: DType;
  mapEmbeddings: EmbeddingMapping;
}

export interface NativeLoadResult {
  vocabSize: number;
  /** '' (Qwen3Model, embedding models) or 'model.' (Qwen3ForCausalLM) */
  keyPrefix: string;
  hasLmHead: boolean;
  /** bytes of parameter storage the model holds */
  parameterBytes: number;
}

/** Work counters since creation: tokens run through the layers, and shared-prompt tokens reused instead */
export interface RunStats {
  tokensRun: number;
  /** a cached prompt's length, counted once for every sequence that started with it */
  tokensReused: number;
}

/** The most one forward pass takes when the core cuts a call into passes by length (lib/qwen3/batching.ts). */
export interface BatchLimits {
  /** sequences per pass */
  maxBatchSize: number;
  /** padded tokens per pass: sequences x the longest one */
  maxBatchTokens: number;
}

// Both native classes (NativeEngine, NativeClassifier) keep one contract:
// - sequences cross the boundary as concatenated token ids plus per-sequence lengths (lib/qwen3/sequences.ts), read
//   in place by the core until the promise settles (so the arrays must not change meanwhile); padLeft chooses how the
//   core pads internally, and results do not depend on it;
// - a prediction call takes any number of sequences: the core runs them in forward passes by length under `limits`
//   and returns one row per sequence, in input order (without limits, one pass of them all, as given);
// - async methods never throw: every failure, a call after dispose() included, rejects with an Error whose message
//   starts with the method's name (`predict: the classifier was disposed`);
// - stats() is synchronous and throws after dispose();
// - dispose() frees the weights once work in flight has ended; it is safe to call more than once.

/** C++ q3::Engine (csrc/binding/engine_wrap.cpp): inference over one loaded model, behind lib's Qwen3Model. */
export interface NativeEngine {
  load(options: NativeLoadOptions): Promise<NativeLoadResult>;
  /** [N * vocab] logits at each sequence's last token, float32 */
  lastTokenLogits(ids: Int32Array, lengths: Int32Array, padLeft: boolean, limits?: BatchLimits): Promise<Float32Array>;
  /** [N * hidden] final-norm hidden state at each sequence's last token, optionally L2-normalised */
  lastTokenHidden(
    ids: Int32Array,
    lengths: Int32Array,
    padLeft: boolean,
    normalize: boolean,
    limits?: BatchLimits
  ): Promise<Float32Array>;
  stats(): RunStats;
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

/**
 * Every field is sent (the binding has no defaults of its own); those a method does not read still get a value. The
 * optional groups are absent exactly when the method has no use for them.
 */
export interface NativeClassifierSpec {
  method: NativeMethod;
  /** false: prediction only (no optimizer state) */
  training: boolean;
  /** the base model; for 'embedding', the Qwen3-Embedding model predict() pools, absent for a classifier that
   * reads precomputed vectors (training) */
  files?: string[];
  config?: NativeQwen3Config;
  mapEmbeddings?: EmbeddingMapping;
  device: Device;
  dtype: DType;
  /** lora and lora-head */
  lora?: NativeLoraSpec;
  /** embedding method: 'linear' or 'mlp' head over featureDim-wide vectors */
  head: 'linear' | 'mlp';
  /** embedding method: the vectors' width (the embedding model's hidden size) */
  featureDim: number;
  /** embedding method's mlp head */
  headDropout: number;
  numLabels: number;
  /** lora method: each label's answer word as token ids, label 0 first, the words concatenated */
  labelTokens: number[];
  /** lora method: tokens in each label's word (absent: one each); words of several tokens, or sharing their first
   * token, are scored by their summed token log-probs */
  labelTokenCounts?: number[];
  /** lora method: the token that ends an answer */
  endToken: number;
  gradientCheckpointing: boolean;
  seed: number;
  /** training */
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

export interface NativeAttributionOptions {
  /** the tokens attributed, [from, to) of the sequence (the post's, not a prompt's) */
  from: number;
  to: number;
  label: number;
  /** points on the path from the baseline to the input (the midpoint rule) */
  steps: number;
  /** whose embedding replaces each attributed token in the baseline */
  baselineToken: number;
  /** steps run together while steps x tokens fit this many tokens (0: all in one pass) */
  maxTokensPerPass: number;
}

export interface NativeAttribution {
  /** per token of [from, to) */
  scores: Float64Array;
  /** f(input) and f(baseline): the scores sum to about target - baseline */
  target: number;
  baseline: number;
}

/**
 * C++ q3::Classifier (csrc/binding/classifier_wrap.cpp): training and prediction for the four methods. Weights are saved in their on-disk names: PEFT keys for lora and
 * lora-head (adapter_model.safetensors), HF keys plus score.weight for full, classifier.* for the embedding head.
 */
export interface NativeClassifier {
  init(spec: NativeClassifierSpec): Promise<{ trainableParameters: number; parameterBytes: number }>;
  /** forward + backward; gradients times lossScale accumulate until step() */
  accumulate(
    ids: Int32Array,
    lengths: Int32Array,
    padLeft: boolean,
    labels: Int32Array,
    lossScale: number
  ): Promise<NativeLoss>;
  accumulateFeatures(features: Float32Array, rows: number, labels: Int32Array, lossScale: number): Promise<NativeLoss>;
  /** data-parallel training: the accumulated gradients become their mean over `group`'s ranks (before step()) */
  reduceGradients(group: NativeProcessGroup): Promise<void>;
  /** AdamW step with global-norm clipping (maxGradNorm <= 0: none); returns the norm before clipping */
  step(learningRate: number, maxGradNorm: number): Promise<number>;
  /** [N * numLabels] class probabilities, every method (embedding: through the base loaded by init) */
  predict(ids: Int32Array, lengths: Int32Array, padLeft: boolean, limits?: BatchLimits): Promise<Float32Array>;
  /** the same, from precomputed embedding vectors (training's evaluation) */
  predictFeatures(features: Float32Array, rows: number): Promise<Float32Array>;
  /**
   * Integrated gradients of one sequence (csrc/core/attribution.cpp): each token of [from, to)'s share of
   * f(input) - f(baseline), f the label's log-probability (lora: its word's, summed over its tokens). Weights frozen.
   */
  explain(ids: Int32Array, options: NativeAttributionOptions): Promise<NativeAttribution>;
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

/** One rank's place in a c10d group: a rendezvous store at masterAddr:masterPort (rank 0 hosts it, listening on that
 * address only), or a FileStore at storeFile, Gloo over it. */
export interface NativeDistributedSpec {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** '' : the TCP store; else the rendezvous file (one machine, no port) */
  storeFile: string;
  /** the TCP store admits only ranks presenting this secret ('' : any) */
  rendezvousToken: string;
  /** rendezvous and every collective: a rank alive but stuck fails the others after this long */
  timeoutMs: number;
  /** a rank with no sign of life this long fails the others' collectives */
  livenessMs: number;
  /** all-reduce bucket size */
  bucketBytes: number;
}

/**
 * C++ q3::ProcessGroup (csrc/binding/distributed_wrap.cpp): PyTorch's c10d ProcessGroupGloo. Every rank makes the same
 * calls in the same order; a collective whose peer died rejects with the rank and the master in its message.
 */
export interface NativeProcessGroup {
  /** rendezvous: resolves once every rank joined */
  init(spec: NativeDistributedSpec): Promise<void>;
  /** each array's mean over the ranks (bucketed float32 all-reduce) */
  allReduceMean(arrays: Float32Array[]): Promise<Float32Array[]>;
  /** resolves once every rank reached it (with an empty array) */
  barrier(): Promise<[]>;
  /** the same length on every rank -> their concatenation in rank order */
  allGather(array: Float32Array): Promise<Float32Array[]>;
  dispose(): void;
}

/** The CUDA caching allocator's counters for one device, in bytes (torch.cuda.max_memory_allocated and friends). */
export interface CudaMemory {
  /** false without a CUDA libtorch (or a build without the counters): every number is then 0 */
  available: boolean;
  allocated: number;
  peakAllocated: number;
  reserved: number;
  peakReserved: number;
}

export interface NativeBinding {
  runtimeInfo(): RuntimeInfo;
  setNumThreads(threads: number): void;
  /** counters of CUDA device `device`; resetPeak starts new peaks after reading */
  cudaMemory(device: number, resetPeak: boolean): CudaMemory;
  /** counters of the CPU tensors' pooling allocator (csrc/core/cpu_pool.h) */
  cpuPool(): CpuPoolStats;
  Engine: new () => NativeEngine;
  Classifier: new () => NativeClassifier;
  ProcessGroup: new () => NativeProcessGroup;
  /** false when the addon was built without Gloo's headers (libgloo-dev) */
  distributedAvailable: boolean;
  /** the `code` of native errors a caller acts on (csrc/core/errors.h) */
  errorCodes: { collectiveFailed: string; portTaken: string };
}

/**
 * Whether `error` came from the addon with the code `which` names (csrc/core/errors.h); false for any other error,
 * and before the addon is loaded (it threw nothing yet).
 */
export function isNativeError(error: unknown, which: keyof NativeBinding['errorCodes']): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return cached !== undefined && typeof code === 'string' && code === cached.errorCodes[which];
}

let cached: NativeBinding | undefined;
let cachedInfo: RuntimeInfo | undefined;
let preloading: Promise<NativeBinding> | undefined;

const report: NativeLoadReport = { libtorch: null, libtorchError: null, addon: null };

/**
 * The largest QWEN3_NATIVE_CPU_POOL: the cap in bytes (MB << 20) must fit the pool's signed 64-bit counters. From
 * 2^44 MB on, the shift wrapped to a cap of 0 (every block unmapped at once), and below that a cap past 2^63 bytes
 * read as negative (an unbounded cache).
 */
export const MAX_CPU_POOL_MB = 2 ** 43 - 1;

/** The addon reads QWEN3_NATIVE_CPU_POOL as it loads (csrc/core/cpu_pool.h) and trusts it to be MB or 0. */
export function checkCpuPoolSetting(value: string | undefined): void {
  if (value === undefined || value === '') return;
  const digits = /^\d+$/.test(value);
  if (digits && BigInt(value) <= BigInt(MAX_CPU_POOL_MB)) return;
  throw new RangeError(
    `QWEN3_NATIVE_CPU_POOL is ${JSON.stringify(value)}: give the CPU pool's cache in MB (a whole number` +
      `${digits ? ` up to ${MAX_CPU_POOL_MB}` : ''}), 0 to use glibc's allocator instead, or leave it unset for the default`
  );
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/**
 * The address space (`ulimit -v`) loading libtorch needs: below it, refused before loading. OpenBLAS (Debian's libtorch
 * BLAS) maps a 128 MiB buffer per thread as it loads, and when mmap fails it retries forever at 100% of a core, so
 * such a process never exits. The smallest command (predict on the tiny model) peaked at 2.79 GiB of address space
 * with one thread and 2.91 GiB with two; the floor adds 256 MiB to that.
 */
export function neededAddressSpace(threads = os.availableParallelism()): number {
  return 2.67 * GiB + threads * 128 * MiB + 256 * MiB;
}

/**
 * libtorch's own log lines (glog: "WARNING: Logging before InitGoogleLogging() ...", then "W1207 ... socket.cpp:426]
 * [c10d] The server socket has failed to bind ..."; without glog the same lines with a C++ backtrace each) go to
 * stderr, beside the package's one error that says the same in words. glog reads GLOG_minloglevel as libtorch loads,
 * a libtorch without glog reads TORCH_CPP_LOG_LEVEL when the addon loads; both keep only fatal lines. A value set by
 * the user wins.
 */
function quietNativeLogs(): void {
  process.env.GLOG_minloglevel ??= '3';
  process.env.TORCH_CPP_LOG_LEVEL ??= 'FATAL';
}

/** Refuses an address-space limit (ulimit -v) under which loading libtorch would hang instead of failing. */
export function checkAddressSpace(limit = addressSpaceLimit()): void {
  const needed = neededAddressSpace();
  if (limit === undefined || limit >= needed) return;
  const gib = (bytes: number) => `${(bytes / GiB).toFixed(2)} GiB`;
  throw new Error(
    `this process may use ${gib(limit)} of address space (ulimit -v ${Math.floor(limit / 1024)}), and qwen3-native ` +
      `needs at least ${gib(needed)} on this machine: libtorch's BLAS maps 128 MiB per thread as it loads and never ` +
      `returns when it cannot. Raise the limit (ulimit -v unlimited, or at least ${Math.ceil(needed / 1024)}); to cap ` +
      'memory, limit resident memory instead (a cgroup: systemd-run -p MemoryMax=…, docker run --memory …)'
  );
}

/**
 * Loads the addon: a local build (build/Release) or the prebuilt one for the libtorch found (lib/native-loader.ts).
 * Throws one message saying what was found, what the package ships and what to install or run.
 */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  checkCpuPoolSetting(process.env.QWEN3_NATIVE_CPU_POOL);
  checkAddressSpace();
  quietNativeLogs();
  cached = loadAddon(report) as NativeBinding;
  return cached;
}

/**
 * loadNative() without blocking the event loop. Loading the addon maps libtorch and runs its static initialisers:
 * 2.0-2.7 s of the JS thread here (a loaded 2-core machine; the whole Predictor.load() measured 1.76 s elsewhere),
 * and finding a pip torch runs Python. A worker thread does both first, which pays that cost off the event loop:
 * shared libraries are loaded once per process, so the JS thread's own load then takes ~1-40 ms, and the worker's
 * libtorch detection is handed over. The worker also asks the runtime what it can do (CUDA probing and thread setup
 * cost 50-80 ms more of the calling thread), kept for runtimeInfo().
 */
export function preloadNative(): Promise<NativeBinding> {
  if (cached && cachedInfo) return Promise.resolve(cached);
  try {
    // Before the worker loads anything: under too small a limit it would never finish.
    checkAddressSpace();
  } catch (e) {
    return Promise.reject(e);
  }
  quietNativeLogs();
  preloading ??= new Promise<void>((resolve) => {
    const loader = path.join(__dirname, 'native-loader.js');
    const source =
      `const { parentPort } = require('worker_threads');` +
      `const loader = require(${JSON.stringify(loader)});` +
      `let info = null;` +
      `try { info = loader.loadAddon({ libtorch: null, libtorchError: null, addon: null }).runtimeInfo(); } catch {}` +
      `parentPort.postMessage({ info, detected: loader.detectionSoFar() });`;
    const worker = new Worker(source, { eval: true });
    worker.once('message', (m: { info: RuntimeInfo | null; detected?: Detected }) => {
      if (m.info) cachedInfo = m.info;
      adoptDetection(m.detected);
    });
    worker.once('error', () => undefined); // the same failure surfaces below, with its fix
    worker.once('exit', () => resolve());
  }).then(() => loadNative());
  return preloading;
}

/** What this libtorch can do; from the preload when it ran (these facts do not change while a process runs). */
export function nativeRuntimeInfo(): RuntimeInfo {
  cachedInfo ??= loadNative().runtimeInfo();
  return cachedInfo;
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
