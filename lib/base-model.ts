// The base checkpoint a method builds on: found (folder, ./models, HF cache or download), its config validated,
// its weight files listed and its tokenizer opened.
import * as fs from 'fs';
import * as path from 'path';
import { checkpointFiles, embeddingMapping } from './checkpoint';
import { readQwen3Config } from './config';
import type { Qwen3HFConfig } from './config-types';
import type { Method } from './encoding';
import type { NativeClassifierSpec, NativeQwen3Config } from './native';
import { resolveModel, type ResolveProgress } from './resolve';
import { Qwen3Tokenizer } from './tokenizer';

export interface BaseModel {
  spec: string;
  dir: string;
  repoId?: string;
  files: string[];
  config: NativeQwen3Config;
  hf: Qwen3HFConfig;
  tokenizer: Qwen3Tokenizer;
}

export function openBaseDir(spec: string, dir: string, repoId?: string): BaseModel {
  const { hf, native } = readQwen3Config(dir);
  const tokenizer = fs.existsSync(path.join(dir, 'tokenizer.json')) ? Qwen3Tokenizer.fromDir(dir) : Qwen3Tokenizer.bundled();
  return { spec, dir, repoId, files: checkpointFiles(dir), config: native, hf, tokenizer };
}

export async function resolveBase(
  spec: string,
  method: Method,
  options: { offline?: boolean; onProgress?: (p: ResolveProgress) => void } = {}
): Promise<BaseModel> {
  const resolved = await resolveModel(spec, {
    kind: method === 'embedding' ? 'embedding' : 'causal',
    offline: options.offline,
    onProgress: options.onProgress,
  });
  return openBaseDir(spec, resolved.dir, resolved.repoId);
}

/**
 * The base-checkpoint part of a native classifier spec. Training `embedding` has none (it reads precomputed vectors);
 * predicting with it loads the Qwen3-Embedding model whose vectors the head reads.
 */
export function nativeBaseSpec(
  method: Method,
  base: BaseModel,
  training: boolean
): Pick<NativeClassifierSpec, 'files' | 'config' | 'mapEmbeddings'> {
  if (method === 'embedding' && training) return {};
  return { files: base.files, config: base.config, mapEmbeddings: embeddingMapping() };
}
