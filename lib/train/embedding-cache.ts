// Qwen3-Embedding vectors for the embedding method, computed once per (model, data, settings): kept in memory for
// this process and on disk for the next, so every epoch after the first costs only the head.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Qwen3Model } from '../qwen3/model';
import { sliceSequences, type TokenSequences } from '../qwen3/sequences';
import { writeFileAtomic } from '../util/atomic-write';

export interface CachedFeatures {
  features: Float32Array;
  dim: number;
  source: 'memory' | 'disk' | 'computed';
  /** posts this process ran through the model (with a shard: its share; 0 when cached) */
  embedded: number;
}

/** Data-parallel embedding: each process embeds its share of the posts and every process gets all the vectors. */
export interface EmbeddingShard {
  /** this process's posts of n: [start, end) */
  range(n: number): readonly [number, number];
  /** every process's rows, in order, on every process */
  gatherRows(mine: Float32Array, n: number, dim: number): Promise<Float32Array>;
  /** true on every process when `flag` is true on every process */
  everyone(flag: boolean): Promise<boolean>;
  /** this process writes the disk cache (one process per machine) */
  writesCache: boolean;
}

const memory = new Map<string, { features: Float32Array; dim: number }>();
const MEMORY_ENTRIES = 8;

export function defaultEmbeddingCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'qwen3-native', 'embeddings');
}

/** Identifies the model by its weight files' paths, sizes and modification times. */
function modelFingerprint(model: Qwen3Model): string {
  return model.files
    .map((f) => {
      const st = fs.statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join('|');
}

export function embeddingCacheKey(model: Qwen3Model, sequences: TokenSequences): string {
  const h = createHash('sha256');
  h.update(`v1|${modelFingerprint(model)}|${model.dtype}|${model.device}|`);
  let at = 0;
  for (const length of sequences.lengths) {
    h.update(sequences.ids.subarray(at, (at += length)));
    h.update('|');
  }
  return h.digest('hex');
}

/**
 * Normalised last-token embeddings of `sequences` (already encoded, <|endoftext|> included). With `shard`, every
 * process must call this with the same sequences: the posts are embedded once over all processes, unless every one
 * of them has the vectors cached already. onProgress then counts this process's share.
 */
export async function cachedEmbeddings(
  model: Qwen3Model,
  sequences: TokenSequences,
  options: {
    cacheDir?: string;
    onProgress?: (done: number, total: number) => void;
    chunk?: number;
    shard?: EmbeddingShard;
  } = {}
): Promise<CachedFeatures> {
  const key = embeddingCacheKey(model, sequences);
  const dir = options.cacheDir ?? defaultEmbeddingCacheDir();
  const file = path.join(dir, `${key}.f32`);
  const dim = model.hiddenSize;
  const n = sequences.lengths.length;
  const found = lookUp(key, file, n, dim);
  const { shard } = options;
  // A cache on one machine only (each machine has its own cache folder) still needs the others' collective.
  if (shard ? await shard.everyone(found !== undefined) : found) return found as CachedFeatures;
  const [start, end] = shard ? shard.range(n) : [0, n];
  const mine = new Float32Array((end - start) * dim);
  // Calls of 256 posts only to report progress between them; the core makes the forward passes of each.
  const chunk = options.chunk ?? 256;
  options.onProgress?.(0, end - start);
  for (let from = start; from < end; from += chunk) {
    const to = Math.min(from + chunk, end);
    mine.set(await model.embedSequences(sliceSequences(sequences, from, to)), (from - start) * dim);
    options.onProgress?.(to - start, end - start);
  }
  const features = shard ? await shard.gatherRows(mine, n, dim) : mine;
  if (!shard || shard.writesCache) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomic(file, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
    } catch {
      // A read-only or full cache folder only costs recomputation next time.
    }
  }
  remember(key, features, dim);
  return { features, dim, source: 'computed', embedded: end - start };
}

function lookUp(key: string, file: string, rows: number, dim: number): CachedFeatures | undefined {
  const hit = memory.get(key);
  if (hit) return { ...hit, source: 'memory', embedded: 0 };
  if (!fs.existsSync(file)) return undefined;
  const buf = fs.readFileSync(file);
  if (buf.byteLength !== rows * dim * 4) return undefined;
  const features = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  remember(key, features, dim);
  return { features, dim, source: 'disk', embedded: 0 };
}

function remember(key: string, features: Float32Array, dim: number): void {
  memory.set(key, { features, dim });
  while (memory.size > MEMORY_ENTRIES) memory.delete(memory.keys().next().value as string);
}
