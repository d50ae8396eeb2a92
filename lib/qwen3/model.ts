// Qwen3Model: a Hugging Face Qwen3 model folder loaded into the native core.
import * as fs from 'fs';
import * as path from 'path';
import { expectArray, expectNonEmptyString, invalidTypeError } from '../util/is';
import { checkOptions } from '../util/schema-errors';
import type { DisposableResource } from '../util/disposable';
import { loadNative, type Device, type DType, type NativeEngine, type RunStats } from '../native';
import { batchLimits } from './batching';
import { encodeEmbeddingInput } from './embedding-input';
import { embeddingMapping, openQwen3Folder } from './folder';
import { resolveDeviceAndDtype } from './runtime';
import {
  EmbedOptionsSchema,
  ForwardOptionsSchema,
  LoadOptionsSchema,
  type EmbedOptions,
  type ForwardOptions,
  type LoadOptions,
} from './schema';
import { fromNested, type TokenSequences } from './sequences';
import type { Qwen3HFConfig } from './config';
import type { Qwen3Tokenizer } from './tokenizer';

export type { EmbedOptions, ForwardOptions };

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

/** One [width]-long view per row of a [rows * width] result. */
function rowsOf(flat: Float32Array, rows: number, width: number): Float32Array[] {
  return Array.from({ length: rows }, (_, i) => flat.subarray(i * width, (i + 1) * width));
}

function validateForwardOptions<T extends ForwardOptions>(
  options: T | undefined,
  schema: typeof ForwardOptionsSchema | typeof EmbedOptionsSchema = ForwardOptionsSchema
): T {
  const o = options ?? ({} as T);
  checkOptions(schema, o, 'options', true);
  return o;
}

export class Qwen3Model implements DisposableResource {
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
    const o = options ?? {};
    checkOptions(LoadOptionsSchema, o, 'options', true);
    const folder = path.resolve(dir);
    const stat = await fs.promises.stat(folder).catch(() => undefined);
    if (!stat?.isDirectory()) throw new Error(`Model folder not found: ${folder}`);
    const { hf, config: nativeConfig, files, tokenizer } = await openQwen3Folder(folder);
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
    if (ids.length === 0) return [];
    const s = fromNested(ids);
    const flat = await native.lastTokenLogits(s.ids, s.lengths, o.padding !== 'right', batchLimits(o.batchSize));
    return rowsOf(flat, ids.length, this.vocabSize);
  }

  /**
   * Qwen3-Embedding pooling: the final hidden state of the last token, L2-normalised unless normalize is false.
   * Text input gets <|endoftext|> appended, as Qwen3-Embedding's tokenizer does; token ids are used as given.
   */
  async embed(input: string[] | number[][], options?: EmbedOptions): Promise<Float32Array[]> {
    this.live('embed');
    const o = validateForwardOptions(options, EmbedOptionsSchema);
    expectArray(input, 'input');
    if (input.length === 0) return [];
    let s: TokenSequences;
    if (input.every((x) => typeof x === 'string')) {
      s = await encodeEmbeddingInput(this.tokenizer, input as string[], o.instruction);
    } else {
      validateIds(input, 'input', this.vocabSize);
      s = fromNested(input as number[][]);
    }
    return rowsOf(await this.embedSequences(s, o), input.length, this.hiddenSize);
  }

  /**
   * embed() of token sequences already flat: [N * hidden] in input order, from one native call (training's embedding
   * cache). @internal
   */
  async embedSequences(
    s: TokenSequences,
    options: Pick<EmbedOptions, 'padding' | 'batchSize' | 'normalize'> = {}
  ): Promise<Float32Array> {
    return this.live('embed').lastTokenHidden(
      s.ids,
      s.lengths,
      options.padding !== 'right',
      options.normalize !== false,
      batchLimits(options.batchSize)
    );
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

  /** dispose(), for `using model = await Qwen3Model.load(...)`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** dispose(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}
