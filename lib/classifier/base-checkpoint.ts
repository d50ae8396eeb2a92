// The base checkpoint a method builds on: found (folder, ./models, HF cache or download) in its method's family,
// then opened (config validated, weight files listed, tokenizer).
import { resolveModel } from '../hub/resolve';
import type { ResolveProgress } from '../hub/api';
import type { NativeClassifierSpec } from '../native';
import { openCheckpoint, type Qwen3Checkpoint } from '../qwen3/checkpoint';
import { familyFor, type Method } from './methods';

export async function resolveBaseCheckpoint(
  spec: string,
  method: Method,
  options: { offline?: boolean; onProgress?: (p: ResolveProgress) => void; preferRepoId?: string } = {}
): Promise<Qwen3Checkpoint> {
  const resolved = await resolveModel(options.preferRepoId ?? spec, {
    kind: familyFor(method),
    offline: options.offline,
    onProgress: options.onProgress,
  });
  return openCheckpoint(resolved.dir, spec, resolved.repoId);
}

/** The base-checkpoint part of a native classifier spec: none for `embedding`, which reads precomputed vectors. */
export function nativeBaseSpec(method: Method, base: Qwen3Checkpoint): Pick<NativeClassifierSpec, 'files' | 'config'> {
  return method === 'embedding' ? {} : { files: base.files, config: base.config };
}
