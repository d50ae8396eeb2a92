// A Hugging Face Qwen3 model folder as this package opens it: which safetensors files make up its weights (one
// model.safetensors, or shards named by model.safetensors.index.json: HF's save_pretrained layout), its validated
// config and its tokenizer.
import * as fs from 'fs';
import * as path from 'path';
import { preloadNative, type EmbeddingMapping, type NativeQwen3Config } from '../native';
import { readJsonObjectAsync } from '../util/json-file';
import { readQwen3Config, type Qwen3HFConfig } from './config';
import { ShardIndexSchema } from './schema';
import { readSafetensorsHeader } from './safetensors';
import { Qwen3Tokenizer } from './tokenizer';
import { checkWeightsAgainstConfig } from './weights-check';

export class Qwen3FolderError extends Error {}

const INDEX_FIX = 'Download the model again: its index names the weight file (shard) of every tensor';

const EMBEDDING_MAPPINGS: readonly string[] = ['auto', 'always', 'never'] satisfies EmbeddingMapping[];

/**
 * How a CPU model holds embed_tokens, from QWEN3_NATIVE_MAP_EMBEDDINGS: 'always' or 'never' override the size rule,
 * unset or empty is 'auto'.
 */
export function embeddingMapping(env: Record<string, string | undefined> = process.env): EmbeddingMapping {
  const value = env.QWEN3_NATIVE_MAP_EMBEDDINGS ?? '';
  if (value === '') return 'auto';
  if (!EMBEDDING_MAPPINGS.includes(value)) {
    throw new Error(`QWEN3_NATIVE_MAP_EMBEDDINGS is '${value}'; expected always, never or auto`);
  }
  return value as EmbeddingMapping;
}

/** A model index is ~30 KB (Qwen3-8B's); a file far past that is not one. */
const MAX_INDEX_BYTES = 64 << 20;

interface WeightList {
  files: string[];
  /** model.safetensors.index.json's weight_map, when the weights are sharded */
  weightMap?: Record<string, string>;
  indexFile?: string;
}

/** Whether something is there (stat does not open it, so a named pipe cannot block it). */
async function exists(file: string): Promise<boolean> {
  return fs.promises.stat(file).then(
    () => true,
    () => false
  );
}

async function listWeights(dir: string): Promise<WeightList> {
  const index = path.join(dir, 'model.safetensors.index.json');
  const single = path.join(dir, 'model.safetensors');
  if (await exists(index)) {
    let map: Record<string, string>;
    try {
      map = (await readJsonObjectAsync(index, INDEX_FIX, ShardIndexSchema, MAX_INDEX_BYTES)).weight_map;
    } catch (e) {
      throw new Qwen3FolderError((e as Error).message);
    }
    const bad = Object.entries(map).filter(([, shard]) => !isPlainFileName(shard));
    if (bad.length > 0) {
      throw new Qwen3FolderError(
        `${index}: weight_map must name shard files in the same folder; ${bad
          .slice(0, 3)
          .map(([name, shard]) => `'${name}' -> ${JSON.stringify(shard)}`)
          .join(', ')} do not. ${INDEX_FIX}`
      );
    }
    const shards = [...new Set(Object.values(map))].sort();
    const present = await Promise.all(shards.map((s) => exists(path.join(dir, s))));
    const missing = shards.filter((_, i) => !present[i]);
    if (missing.length > 0) {
      throw new Qwen3FolderError(`${index} names shards that are missing from ${dir}: ${missing.join(', ')}`);
    }
    return { files: shards.map((s) => path.join(dir, s)), weightMap: map, indexFile: index };
  }
  if (await exists(single)) return { files: [single] };
  const listing = await fs.promises.readdir(dir).catch(() => [] as string[]);
  const others = listing.filter((f) => f.endsWith('.safetensors'));
  if (others.length > 0) return { files: others.sort().map((f) => path.join(dir, f)) };
  const hasBin = listing.some((f) => f.endsWith('.bin') || f.endsWith('.pt'));
  throw new Qwen3FolderError(
    `no safetensors weights in ${dir} (expected model.safetensors or model.safetensors.index.json)` +
      (hasBin
        ? '; PyTorch .bin checkpoints are not supported: convert with save_pretrained(safe_serialization=True)'
        : '')
  );
}

/** A shard named by an index: a file name, not a path that leaves the folder. */
function isPlainFileName(name: string): boolean {
  return name.length > 0 && name === path.basename(name) && name !== '.' && name !== '..';
}

/** The safetensors files holding a model folder's weights (model.safetensors, or the shards its index names). */
export async function weightFiles(dir: string): Promise<string[]> {
  return (await listWeights(dir)).files;
}

/**
 * The weight files with their headers, checked against the config (weights-check.ts) before anything is allocated.
 * Headers are read from regular files only; a damaged one is named with what is wrong with it.
 */
async function checkedWeights(
  dir: string,
  config: { hf: Qwen3HFConfig; native: NativeQwen3Config }
): Promise<string[]> {
  const list = await listWeights(dir);
  const weights = await Promise.all(
    list.files.map(async (file) => {
      try {
        return { file, header: await readSafetensorsHeader(file) };
      } catch (e) {
        throw new Qwen3FolderError((e as Error).message);
      }
    })
  );
  try {
    checkWeightsAgainstConfig(weights, config.native, {
      configFile: path.join(dir, 'config.json'),
      vocabSize: config.hf.vocab_size,
      weightMap: list.weightMap,
      indexFile: list.indexFile,
    });
  } catch (e) {
    throw new Qwen3FolderError((e as Error).message);
  }
  return list.files;
}

/** An opened model folder: weight files, config (raw and the core's subset) and tokenizer. */
export interface Qwen3Folder {
  /** what the user asked for (a folder, a repo id, 'tiny') */
  spec: string;
  dir: string;
  /** the Hugging Face repo id, when known */
  repoId?: string;
  files: string[];
  config: NativeQwen3Config;
  hf: Qwen3HFConfig;
  tokenizer: Qwen3Tokenizer;
}

/**
 * Opens a model folder: config validated, weight files listed and checked against it, tokenizer opened, the
 * addon loaded; none of it on the event loop (the tokenizer and the addon each blocked it for 1-2.7 s before).
 */
export async function openQwen3Folder(dir: string, spec: string = dir, repoId?: string): Promise<Qwen3Folder> {
  // Every Qwen3 size shares one tokenizer: folders without tokenizer.json use the bundled copy.
  const tokenizer = exists(path.join(dir, 'tokenizer.json')).then((has) =>
    has ? Qwen3Tokenizer.fromDir(dir) : Qwen3Tokenizer.bundled()
  );
  // Loaded while the files are checked: whoever opens a model folder runs it natively next.
  const native = preloadNative();
  // Failures are reported in this order whatever finishes first: the config, the weights, the tokenizer, the addon.
  tokenizer.catch(() => undefined);
  native.catch(() => undefined);
  const config = await readQwen3Config(dir);
  const files = await checkedWeights(dir, config);
  const [opened] = await Promise.all([tokenizer, native]);
  return { spec, dir, repoId, files, config: config.native, hf: config.hf, tokenizer: opened };
}
