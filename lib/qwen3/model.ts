// Qwen3Model: a Hugging Face Qwen3 checkpoint loaded into the native core.
import * as fs from 'fs';
import * as path from 'path';
import {
  expectArray,
  expectBoolean,
  expectKnownKeys,
  expectNonEmptyString,
  expectOneOf,
  expectOptionalOptions,
  expectPositiveInteger,
  invalidTypeError,
} from '../util/is';
import {
  loadNative,
  nativeRuntimeInfo,
  type Device,
  type DType,
  type NativeEngine,
  type RunStats,
  type RuntimeInfo,
  type CpuPoolStats,
} from '../native';
import { DEFAULT_BATCH_LIMITS, packByLength, scatterRows } from './batching';
import { embeddingMapping, openCheckpoint } from './checkpoint';
import type { Qwen3HFConfig } from './config';
import type { Qwen3Tokenizer } from './tokenizer';
import { ENDOFTEXT_ID } from './tokens';

export type DeviceOption = 'auto' | Device;
export type DTypeOption = 'auto' | DType;

export interface LoadOptions {
  device?: DeviceOption;
  dtype?: DTypeOption;
}

export interface ForwardOptions {
  /** how the batch is padded inside the core; results do not depend on it (default 'left') */
  padding?: 'left' | 'right';
  /** most sequences per native call (default 32) */
  batchSize?: number;
}

export interface EmbedOptions extends ForwardOptions {
  /** L2-normalise (default true, as Qwen3-Embedding) */
  normalize?: boolean;
  /** Qwen3-Embedding query instruction: text becomes `Instruct: {instruction}\nQuery:{text}` */
  instruction?: string;
}

/**
 * Where a model runs: 'auto' is CUDA when libtorch sees a GPU, else the CPU; 'cuda' is the first GPU and 'cuda:N'
 * GPU N. For help texts and error messages (parseDevice accepts these forms).
 */
export const DEVICE_OPTIONS: readonly string[] = ['auto', 'cpu', 'cuda', 'cuda:N'];
/** How weights and activations are stored: 'auto' is bf16 on CUDA and on CPUs with native bf16, else float32. */
export const DTYPE_OPTIONS: readonly DTypeOption[] = ['auto', 'float32', 'bfloat16', 'float16'];

// cuda:N with N written as libtorch reads it (decimal, no sign, no leading zeros), at most 3 digits.
const CUDA_N = /^cuda:(0|[1-9][0-9]{0,2})$/;

/** A device option as written ('auto', 'cpu', 'cuda', 'cuda:N'), or undefined for anything else. */
export function parseDevice(value: unknown): DeviceOption | undefined {
  if (value === 'auto' || value === 'cpu' || value === 'cuda') return value;
  if (typeof value === 'string' && CUDA_N.test(value)) return value as DeviceOption;
  return undefined;
}

export function expectDevice(value: unknown, name: string): asserts value is DeviceOption {
  if (parseDevice(value) === undefined) throw invalidTypeError(`one of ${DEVICE_OPTIONS.join(', ')}`, name, value);
}

/** The CUDA device index of a device: 0 for 'cuda', N for 'cuda:N', undefined for the CPU. */
export function cudaIndex(device: Device): number | undefined {
  if (device === 'cpu') return undefined;
  return device === 'cuda' ? 0 : Number(device.slice('cuda:'.length));
}

export function runtimeInfo(): RuntimeInfo {
  return nativeRuntimeInfo();
}

/** Counters of the pool the CPU tensors come from (csrc/core/cpu_pool.h): bytes held by tensors and kept for reuse. */
export function cpuPoolStats(): CpuPoolStats {
  return loadNative().cpuPool();
}

/**
 * Peak bytes the CUDA caching allocator has held on device 0 (torch.cuda.max_memory_allocated), or null when there
 * is no CUDA device or the addon was built without the counters. reset: start a new peak after reading.
 */
export function peakGpuMemory(reset = false): number | null {
  const native = loadNative();
  if (!native.cudaMemory || !native.runtimeInfo().cudaAvailable) return null;
  const m = native.cudaMemory(0, reset);
  return m.available ? m.peakAllocated : null;
}

/**
 * Sets the intra-op threads of every model in this process (default: the machine's cores). Fewer leave cores to the
 * JS thread, e.g. a server's HTTP work; takes effect from the next native call.
 */
export function setComputeThreads(threads: number): void {
  expectPositiveInteger(threads, 'threads');
  const native = loadNative();
  native.runtimeInfo(); // the one-time runtime setup (threads = cores) runs first, so this count is the one that stays
  native.setNumThreads(threads);
}

/**
 * 'auto' device: CUDA (device 0) when libtorch sees one. 'auto' dtype: bf16 on CUDA or on CPUs with native bf16,
 * else f32. A CUDA device that is absent fails here, naming the devices there are.
 */
export function resolveDeviceAndDtype(
  options: LoadOptions,
  info: RuntimeInfo = runtimeInfo()
): { device: Device; dtype: DType } {
  const device: Device =
    options.device === undefined || options.device === 'auto' ? (info.cudaAvailable ? 'cuda' : 'cpu') : options.device;
  const index = cudaIndex(device);
  if (index !== undefined && !info.cudaAvailable) {
    throw new Error(
      `device '${device}' requested but this libtorch (${info.libtorchVersion}) sees no CUDA device; use device 'cpu' or 'auto'`
    );
  }
  if (index !== undefined && index >= info.cudaDeviceCount) {
    const n = info.cudaDeviceCount;
    throw new Error(
      `device '${device}' requested but this libtorch sees ${n} CUDA device${n === 1 ? '' : 's'} (${n === 1 ? 'cuda:0' : `cuda:0 to cuda:${n - 1}`}); use one of them, 'cuda' (the first) or 'auto'`
    );
  }
  let dtype: DType;
  if (options.dtype === undefined || options.dtype === 'auto') {
    dtype = index !== undefined || info.cpuBf16 ? 'bfloat16' : 'float32';
  } else {
    dtype = options.dtype;
  }
  const major = Number.parseInt(info.libtorchVersion, 10);
  if (device === 'cpu' && dtype === 'float16' && major < 2) {
    throw new Error(
      `dtype 'float16' on CPU needs libtorch 2.x (this is ${info.libtorchVersion}, which has no CPU float16 matmul); use 'bfloat16' or 'float32'`
    );
  }
  return { device, dtype };
}

function validateIds(ids: unknown, name: string, vocabSize: number): asserts ids is number[][] {
  expectArray(ids, name);
  ids.forEach((seq, i) => {
    if (!Array.isArray(seq) || seq.length === 0) {
      throw invalidTypeError('a non-empty array of token ids', `${name}[${i}]`, seq);
    }
    for (const id of seq) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw invalidTypeError(`integer token ids in [0, ${vocabSize})`, `${name}[${i}]`, id);
      }
    }
  });
}

function validateForwardOptions(options: ForwardOptions | undefined, extra: string[] = []): ForwardOptions {
  const o = expectOptionalOptions(options);
  expectKnownKeys(o, 'options', ['padding', 'batchSize', ...extra]);
  if (o.padding !== undefined) expectOneOf(o.padding, 'options.padding', ['left', 'right'] as const);
  if (o.batchSize !== undefined) expectPositiveInteger(o.batchSize, 'options.batchSize');
  return o;
}

export class Qwen3Model {
  readonly dir: string;
  /** the safetensors files the weights came from */
  readonly files: readonly string[];
  readonly config: Qwen3HFConfig;
  readonly tokenizer: Qwen3Tokenizer;
  readonly device: Device;
  readonly dtype: DType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** false for embedding checkpoints (Qwen3Model layout): lastTokenLogits is unavailable */
  readonly hasLmHead: boolean;
  /** @internal */
  native: NativeEngine | null;

  private constructor(init: {
    dir: string;
    files: readonly string[];
    config: Qwen3HFConfig;
    tokenizer: Qwen3Tokenizer;
    device: Device;
    dtype: DType;
    vocabSize: number;
    hasLmHead: boolean;
    native: NativeEngine;
  }) {
    this.dir = init.dir;
    this.files = init.files;
    this.config = init.config;
    this.tokenizer = init.tokenizer;
    this.device = init.device;
    this.dtype = init.dtype;
    this.vocabSize = init.vocabSize;
    this.hiddenSize = init.config.hidden_size;
    this.hasLmHead = init.hasLmHead;
    this.native = init.native;
  }

  /** Loads a Hugging Face Qwen3 folder (config.json, model.safetensors or shards, tokenizer.json). */
  static async load(dir: string, options?: LoadOptions): Promise<Qwen3Model> {
    expectNonEmptyString(dir, 'dir');
    const o = expectOptionalOptions(options);
    expectKnownKeys(o, 'options', ['device', 'dtype']);
    if (o.device !== undefined) expectDevice(o.device, 'options.device');
    if (o.dtype !== undefined) expectOneOf(o.dtype, 'options.dtype', DTYPE_OPTIONS);
    const folder = path.resolve(dir);
    const stat = await fs.promises.stat(folder).catch(() => undefined);
    if (!stat?.isDirectory()) throw new Error(`Model folder not found: ${folder}`);
    const { hf, config: nativeConfig, files, tokenizer } = await openCheckpoint(folder);
    const { device, dtype } = resolveDeviceAndDtype(o);
    const mapEmbeddings = embeddingMapping();
    const binding = loadNative();
    const native = new binding.Engine();
    let result;
    try {
      result = await native.load({ files, config: nativeConfig, device, dtype, mapEmbeddings });
    } catch (e) {
      native.dispose();
      throw new Error(`Could not load the Qwen3 checkpoint in ${folder}: ${(e as Error).message}`);
    }
    return new Qwen3Model({
      dir: folder,
      files,
      config: hf,
      tokenizer,
      device,
      dtype,
      vocabSize: result.vocabSize,
      hasLmHead: result.hasLmHead,
      native,
    });
  }

  private live(operation: string): NativeEngine {
    if (!this.native) throw new Error(`${operation}: the model was disposed`);
    return this.native;
  }

  /** Logits over the vocabulary at each sequence's last token (float32). */
  async lastTokenLogits(ids: number[][], options?: ForwardOptions): Promise<Float32Array[]> {
    const native = this.live('lastTokenLogits');
    if (!this.hasLmHead)
      throw new Error('lastTokenLogits: this checkpoint has no lm_head (an embedding model); use embed()');
    validateIds(ids, 'ids', this.vocabSize);
    const o = validateForwardOptions(options);
    const out: Float32Array[] = new Array(ids.length);
    for (const batch of packByLength(ids, {
      ...DEFAULT_BATCH_LIMITS,
      maxBatchSize: o.batchSize ?? DEFAULT_BATCH_LIMITS.maxBatchSize,
    })) {
      const flat = await native.lastTokenLogits(batch.ids, batch.lengths, o.padding !== 'right');
      scatterRows(out, flat, batch.indices, this.vocabSize);
    }
    return out;
  }

  /**
   * Qwen3-Embedding pooling: the final hidden state of the last token, L2-normalised unless normalize is false.
   * Text input gets <|endoftext|> appended, as Qwen3-Embedding's tokenizer does; token ids are used as given.
   */
  async embed(input: string[] | number[][], options?: EmbedOptions): Promise<Float32Array[]> {
    const native = this.live('embed');
    const o = validateForwardOptions(options, ['normalize', 'instruction']) as EmbedOptions;
    if (o.normalize !== undefined) expectBoolean(o.normalize, 'options.normalize');
    if (o.instruction !== undefined) expectNonEmptyString(o.instruction, 'options.instruction');
    expectArray(input, 'input');
    let ids: number[][];
    if (input.every((x) => typeof x === 'string')) {
      const texts = (input as string[]).map((t) => (o.instruction ? `Instruct: ${o.instruction}\nQuery:${t}` : t));
      ids = (await this.tokenizer.encodeBatch(texts)).map((seq) => [...seq, ENDOFTEXT_ID]);
    } else {
      validateIds(input, 'input', this.vocabSize);
      ids = input as number[][];
    }
    const out: Float32Array[] = new Array(ids.length);
    for (const batch of packByLength(ids, {
      ...DEFAULT_BATCH_LIMITS,
      maxBatchSize: o.batchSize ?? DEFAULT_BATCH_LIMITS.maxBatchSize,
    })) {
      const flat = await native.lastTokenHidden(batch.ids, batch.lengths, o.padding !== 'right', o.normalize !== false);
      scatterRows(out, flat, batch.indices, this.hiddenSize);
    }
    return out;
  }

  /**
   * Work done so far: tokens run through the layers, and tokens of a prompt that every sequence of a batch starts
   * with (an instruction) whose keys and values were reused instead of run again.
   */
  stats(): RunStats {
    return this.live('stats').stats();
  }

  /** Frees the native weights now (idempotent). Later calls reject. */
  dispose(): void {
    if (this.native) {
      this.native.dispose();
      this.native = null;
    }
  }
}
