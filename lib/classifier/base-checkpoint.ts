// The base checkpoint a method builds on: found (folder, ./models, HF cache or download) in its method's family,
// then opened (config validated, weight files listed, tokenizer).
import { resolveModel } from '../hub/resolve';
import type { ResolveProgress } from '../hub/api';
import type { NativeClassifierSpec } from '../native';
import { embeddingMapping, openCheckpoint, type Qwen3Checkpoint } from '../qwen3/checkpoint';
import { familyFor, type Method } from './methods';

export async function resolveBaseCheckpoint(
  spec: string,
  method: Method,
  options: {
    offline?: boolean;
    onProgress?: (p: ResolveProgress) => void;
    /** a one-line note when an old convention found the model (./models/qwen3-0.6b) */
    onNote?: (line: string) => void;
    preferRepoId?: string;
  } = {}
): Promise<Qwen3Checkpoint> {
  const resolved = await resolveModel(options.preferRepoId ?? spec, {
    kind: familyFor(method),
    offline: options.offline,
    onProgress: options.onProgress,
  });
  if (resolved.note) options.onNote?.(resolved.note);
  return openCheckpoint(resolved.dir, spec, resolved.repoId);
}

/**
 * The base-checkpoint part of a native classifier spec. Training `embedding` has none (it reads precomputed vectors);
 * predicting with it loads the Qwen3-Embedding model whose vectors the head reads.
 */
export function nativeBaseSpec(
  method: Method,
  base: Qwen3Checkpoint,
  training: boolean
): Pick<NativeClassifierSpec, 'files' | 'config' | 'mapEmbeddings'> {
  if (method === 'embedding' && training) return {};
  return { files: base.files, config: base.config, mapEmbeddings: embeddingMapping() };
}
