// A Hugging Face Qwen3 checkpoint folder as this package opens it: which safetensors files make up its weights (one
// model.safetensors, or shards named by model.safetensors.index.json: HF's save_pretrained layout), its validated
// config and its tokenizer.
import * as fs from 'fs';
import * as path from 'path';
import type { NativeQwen3Config } from '../native';
import { readQwen3Config, type Qwen3HFConfig } from './config';
import { Qwen3Tokenizer } from './tokenizer';

export class CheckpointError extends Error {}

export function checkpointFiles(dir: string): string[] {
  const index = path.join(dir, 'model.safetensors.index.json');
  const single = path.join(dir, 'model.safetensors');
  if (fs.existsSync(index)) {
    let weightMap: Record<string, string>;
    try {
      weightMap = JSON.parse(fs.readFileSync(index, 'utf8')).weight_map;
    } catch (e) {
      throw new CheckpointError(`${index} is not valid JSON: ${(e as Error).message}`);
    }
    if (!weightMap || typeof weightMap !== 'object') {
      throw new CheckpointError(`${index} has no weight_map`);
    }
    const shards = [...new Set(Object.values(weightMap))].sort();
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
