// What `qwen3-native compare` is told (schema.ts declares the options and their defaults), resolved with the rules
// that tie options together, all checked before any model is trained. Either methods are trained now (train file + a
// base), or existing run folders are compared (the `checkpoints` option); the test file is always measured now, in
// this process.
import * as path from 'path';
import { familyFor, METHODS, type Method } from '../classifier/methods';
import type { DeviceOption, DTypeOption } from '../qwen3/runtime';
import { findPreset, repoIdFor, type ModelSize } from '../qwen3/presets';
import { isTinySpec } from '../qwen3/tiny';
import { resolveOptions } from '../util/schema-errors';
import { COMPARE_DEFAULTS, CompareOptionsSchema, type CompareOptions } from './schema';

export { COMPARE_DEFAULTS, type CompareOptions };

export interface ResolvedCompareOptions {
  test: string;
  train?: string;
  /** methods to train now, each with the base it trains on ([] when comparing existing runs) */
  plan: { method: Method; model?: string; modelSize?: ModelSize; output: string }[];
  /** existing run folders to compare instead (the `checkpoints` option), resolved */
  runs: string[];
  out: string;
  seed?: number;
  epochs?: number;
  maxSamples?: number;
  latencyPosts: number;
  throughputSeconds: number;
  wrongPosts: number;
  device?: DeviceOption;
  dtype?: DTypeOption;
  offline?: boolean;
  /** how the base was named, for the report */
  base: string;
}

/** Options that cannot work together; `problems` lists every one. */
export class CompareOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'CompareOptionsError';
  }
}

/**
 * The base a method trains on when every method is given one name: 'tiny' stays 'tiny' (the resolver makes it a
 * tiny Qwen3-Embedding for embedding), a known repo id or size moves to the method's family (Qwen/Qwen3-0.6B ->
 * Qwen/Qwen3-Embedding-0.6B), any other folder or id is used as it is.
 */
export function baseForMethod(method: Method, model: string): string {
  if (isTinySpec(model)) return model.trim() === 'tiny-embedding' && method !== 'embedding' ? 'tiny' : model;
  const preset = findPreset(model, familyFor(method)) ?? findPreset(model, 'causal') ?? findPreset(model, 'embedding');
  return preset ? repoIdFor(preset.size, familyFor(method)) : model;
}

/** Checks the options and fills in the defaults; `name` turns an option name into what the user typed. */
export function resolveCompareOptions(
  options: CompareOptions,
  name: (option: string) => string = (o) => o
): ResolvedCompareOptions {
  // Checked as given (methods: undefined is the default, [] a mistake), then with the defaults filled in.
  const o = options;
  const d = resolveOptions(CompareOptionsSchema, options) as CompareOptions &
    Required<Pick<CompareOptions, keyof typeof COMPARE_DEFAULTS>>; // the schema's defaults fill these

  const problems: string[] = [];
  const runs = o.checkpoints ?? [];
  const training = runs.length === 0;
  if (!o.test) problems.push(`${name('test')} is required: the labelled file every method is measured on`);
  if (training) {
    if (!o.train) problems.push(`${name('train')} is required to train the methods (or compare existing runs)`);
    if (o.model === undefined && o.modelSize === undefined)
      problems.push(`give ${name('modelSize')} or ${name('model')}: the base every method trains on`);
    if (o.model !== undefined && o.modelSize !== undefined)
      problems.push(`${name('model')} and ${name('modelSize')} exclude each other`);
  } else {
    for (const k of ['train', 'methods', 'model', 'modelSize', 'epochs', 'maxSamples'] as const)
      if (o[k] !== undefined)
        problems.push(`${name(k)} applies to training; existing runs (${name('checkpoints')}) are compared as trained`);
  }
  const methods = [...new Set(d.methods)];
  if (methods.length === 0) problems.push(`${name('methods')}: give at least one of ${METHODS.join(', ')}`);
  if (problems.length) throw new CompareOptionsError(problems);

  const out = path.resolve(d.out);
  const plan = training
    ? methods.map((method) => ({
        method,
        model: o.model === undefined ? undefined : baseForMethod(method, o.model),
        modelSize: o.modelSize,
        output: path.join(out, 'runs', method),
      }))
    : [];
  return {
    test: path.resolve(o.test),
    train: o.train === undefined ? undefined : path.resolve(o.train),
    plan,
    runs: runs.map((r) => path.resolve(r)),
    out,
    seed: o.seed,
    epochs: o.epochs,
    maxSamples: o.maxSamples,
    latencyPosts: d.latencyPosts,
    throughputSeconds: d.throughputSeconds,
    wrongPosts: d.wrongPosts,
    device: o.device,
    dtype: o.dtype,
    offline: o.offline,
    base:
      o.model ??
      (o.modelSize ? `${repoIdFor(o.modelSize)} (${repoIdFor(o.modelSize, 'embedding')} for embedding)` : ''),
  };
}
