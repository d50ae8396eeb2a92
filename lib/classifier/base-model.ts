// The base model a method builds on: found (folder, ./models, HF cache or download) in its method's family,
// then opened (config validated, weight files listed, tokenizer).
import { resolveModel } from '../hub/resolve';
import type { ResolveProgress } from '../hub/api';
import type { NativeClassifierSpec } from '../native';
import { embeddingMapping, openQwen3Folder, type Qwen3Folder } from '../qwen3/folder';
import { familyFor, type Method } from './methods';

export async function resolveBaseModel(
  spec: string,
  method: Method,
  options: {
    offline?: boolean;
    onProgress?: (p: ResolveProgress) => void;
    /** a one-line note when an old convention found the model (./models/qwen3-0.6b) */
    onNote?: (line: string) => void;
    preferRepoId?: string;
  } = {}
): Promise<Qwen3Folder> {
  const resolved = await resolveModel(options.preferRepoId ?? spec, {
    kind: familyFor(method),
    offline: options.offline,
    onProgress: options.onProgress,
  });
  if (resolved.note) options.onNote?.(resolved.note);
  return openQwen3Folder(resolved.dir, spec, resolved.repoId);
}

/**
 * The base-model part of a native classifier spec. Training `embedding` has none (it reads precomputed vectors);
 * predicting with it loads the Qwen3-Embedding model whose vectors the head reads.
 */
export function nativeBaseSpec(
  method: Method,
  base: Qwen3Folder,
  training: boolean
): Pick<NativeClassifierSpec, 'files' | 'config' | 'mapEmbeddings'> {
  if (method === 'embedding' && training) return {};
  return { files: base.files, config: base.config, mapEmbeddings: embeddingMapping() };
}
