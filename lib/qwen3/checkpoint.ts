// A Hugging Face Qwen3 checkpoint folder as this package opens it: which safetensors files make up its weights (one
// model.safetensors, or shards named by model.safetensors.index.json: HF's save_pretrained layout), its validated
// config and its tokenizer.
import * as fs from 'fs';
import * as path from 'path';
import type { EmbeddingMapping, NativeQwen3Config } from '../native';
import { readJsonObject } from '../util/json-file';
import { readQwen3Config, type Qwen3HFConfig } from './config';
import { Qwen3Tokenizer } from './tokenizer';

export class CheckpointError extends Error {}

const INDEX_FIX = 'Download the model again: its index names the weight file (shard) of every tensor';

const EMBEDDING_MAPPINGS: readonly string[] = ['auto', 'always', 'never'] satisfies EmbeddingMapping[];

/**
 * How a CPU model holds embed_tokens, from QWEN3_NATIVE_MAP_EMBEDDINGS: 'always' or 'never' override the size rule,
 * unset or empty is 'auto'.
 */
export function embeddingMapping(env: NodeJS.ProcessEnv = process.env): EmbeddingMapping {
  const value = env.QWEN3_NATIVE_MAP_EMBEDDINGS ?? '';
  if (value === '') return 'auto';
  if (!EMBEDDING_MAPPINGS.includes(value)) {
    throw new Error(`QWEN3_NATIVE_MAP_EMBEDDINGS is '${value}'; expected always, never or auto`);
  }
  return value as EmbeddingMapping;
}

export function checkpointFiles(dir: string): string[] {
  const index = path.join(dir, 'model.safetensors.index.json');
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(index)) {
    let weightMap: Record<string, unknown>;
    try {
      weightMap = readJsonObject(index, INDEX_FIX, { weight_map: 'object' }).weight_map as Record<string, unknown>;
    } catch (e) {
      throw new CheckpointError((e as Error).message);
    }
    const shards = [...new Set(Object.values(weightMap))].sort() as string[];
    if (shards.some((s) => typeof s !== 'string'))
      throw new CheckpointError(`${index}: "weight_map" should map tensor names to shard file names. ${INDEX_FIX}`);
    const missing = shards.filter((s) => !fs.existsSync(path.join(dir, s)));
    if (missing.length > 0) {
      throw new CheckpointError(`${index} names shards that are missing from ${dir}: ${missing.join(', ')}`);
    }
    return shards.map((s) => path.join(dir, s));
  }
  if (fs.existsSync(single)) return [single];
  const others = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')) : [];
  if (others.length > 0) return others.sort().map((f) => path.join(dir, f));
  const hasBin = fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.bin') || f.endsWith('.pt'));
  throw new CheckpointError(
    `no safetensors weights in ${dir} (expected model.safetensors or model.safetensors.index.json)` +
      (hasBin
        ? '; PyTorch .bin checkpoints are not supported: convert with save_pretrained(safe_serialization=True)'
        : '')
  );
}

/** An opened checkpoint folder: weight files, config (raw and the core's subset) and tokenizer. */
export interface Qwen3Checkpoint {
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

/** Opens a checkpoint folder: config validated, weight files listed, tokenizer opened. */
export function openCheckpoint(dir: string, spec: string = dir, repoId?: string): Qwen3Checkpoint {
  const { hf, native } = readQwen3Config(dir);
  // Every Qwen3 size shares one tokenizer: folders without tokenizer.json use the bundled copy.
  const tokenizer = fs.existsSync(path.join(dir, 'tokenizer.json'))
    ? Qwen3Tokenizer.fromDir(dir)
    : Qwen3Tokenizer.bundled();
  return { spec, dir, repoId, files: checkpointFiles(dir), config: native, hf, tokenizer };
}
