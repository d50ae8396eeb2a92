// Qwen3-Embedding vectors for the embedding method, computed once per (model, data, settings): kept in memory for
// this process and on disk for the next, so every epoch after the first costs only the head.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Qwen3Model } from '../qwen3/model';
import { writeFileAtomic } from '../util/atomic-write';

export interface CachedFeatures {
  features: Float32Array;
  dim: number;
  source: 'memory' | 'disk' | 'computed';
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

export function embeddingCacheKey(model: Qwen3Model, sequences: readonly (readonly number[])[]): string {
  const h = createHash('sha256');
  h.update(`v1|${modelFingerprint(model)}|${model.dtype}|${model.device}|`);
  for (const seq of sequences) {
    h.update(Int32Array.from(seq));
    h.update('|');
  }
  return h.digest('hex');
}

/** Normalised last-token embeddings of `sequences` (already encoded, <|endoftext|> included). */
export async function cachedEmbeddings(
  model: Qwen3Model,
  sequences: readonly number[][],
  options: { cacheDir?: string; onProgress?: (done: number, total: number) => void; chunk?: number } = {}
): Promise<CachedFeatures> {
  const key = embeddingCacheKey(model, sequences);
  const hit = memory.get(key);
  if (hit) return { ...hit, source: 'memory' };
  const dir = options.cacheDir ?? defaultEmbeddingCacheDir();
  const file = path.join(dir, `${key}.f32`);
  const dim = model.hiddenSize;
  if (fs.existsSync(file)) {
    const buf = fs.readFileSync(file);
    if (buf.byteLength === sequences.length * dim * 4) {
      const features = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      remember(key, features, dim);
      return { features, dim, source: 'disk' };
    }
  }
  const features = new Float32Array(sequences.length * dim);
  const chunk = options.chunk ?? 256;
  options.onProgress?.(0, sequences.length);
  for (let start = 0; start < sequences.length; start += chunk) {
    const part = sequences.slice(start, start + chunk);
    const vectors = await model.embed(part);
    vectors.forEach((v, i) => features.set(v, (start + i) * dim));
    options.onProgress?.(Math.min(start + chunk, sequences.length), sequences.length);
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(file, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
  } catch {
    // A read-only or full cache folder only costs recomputation next time.
  }
  remember(key, features, dim);
  return { features, dim, source: 'computed' };
}

function remember(key: string, features: Float32Array, dim: number): void {
  memory.set(key, { features, dim });
  while (memory.size > MEMORY_ENTRIES) memory.delete(memory.keys().next().value as string);
}
