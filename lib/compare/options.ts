// What `qwen3-native compare` can be told, its defaults (written once: the CLI's help prints these), and the checks
// that run before any model is trained. Either methods are trained now (train file + a base), or existing run folders
// are compared (checkpoints); the test file is always measured now, in this process.
import * as path from 'path';
import { familyFor, METHODS, type Method } from '../classifier/methods';
import { DTYPE_OPTIONS, expectDevice, type DeviceOption, type DTypeOption } from '../qwen3/runtime';
import { findPreset, MODEL_SIZES, repoIdFor, type ModelSize } from '../qwen3/presets';
import { isTinySpec } from '../qwen3/tiny';
import {
  expectBoolean,
  expectKnownKeys,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectOneOf,
  expectPlainObject,
  expectPositiveInteger,
  expectStringArray,
} from '../util/is';

export const COMPARE_DEFAULTS = Object.freeze({
  /** the write-up's question: every method, cheapest first */
  methods: ['embedding', 'lora', 'lora-head', 'full'] as readonly Method[],
  out: 'compare-report',
  /**
   * Posts timed one at a time for the latency percentiles. 50 gives a p95 from the 3rd-slowest call; the bundled
   * test file has 60 posts, so every one of a larger file's first 50 is timed once.
   */
  latencyPosts: 50,
  /**
   * Throughput: the test file is predicted again until this much time has passed (at least once), so a 60-post file
   * that a tiny model predicts in 30 ms is timed over many passes instead of one timer tick.
   */
  throughputSeconds: 2,
});

export interface CompareOptions {
  /** labelled test file every method is measured on */
  test: string;
  /** training data (trains every method now; absent when comparing existing runs) */
  train?: string;
  methods?: Method[];
  /** Qwen/Qwen3-<size> (Qwen/Qwen3-Embedding-<size> for embedding) */
  modelSize?: ModelSize;
  /** a base for every method: 'tiny' (tiny-embedding for embedding), a repo id of a known size, or a folder */
  model?: string;
  /** compare these existing run folders instead of training */
  checkpoints?: string[];
  /** report folder: report.md, report.json, report.html and (when training) runs/<method> */
  out?: string;
  /** one seed for every method: the same dev split, data order and initialisation */
  seed?: number;
  /** override every method's default epochs */
  epochs?: number;
  /** train on at most this many examples (stratified, seeded) */
  maxSamples?: number;
  latencyPosts?: number;
  throughputSeconds?: number;
  device?: DeviceOption;
  dtype?: DTypeOption;
  offline?: boolean;
}

export interface ResolvedCompareOptions {
  test: string;
  train?: string;
  /** methods to train now, each with the base it trains on ([] when comparing checkpoints) */
  plan: { method: Method; model?: string; modelSize?: ModelSize; output: string }[];
  checkpoints: string[];
  out: string;
  seed?: number;
  epochs?: number;
  maxSamples?: number;
  latencyPosts: number;
  throughputSeconds: number;
  device?: DeviceOption;
  dtype?: DTypeOption;
  offline?: boolean;
  /** how the base was named, for the report */
  base: string;
}

const KEYS = [
  'test',
  'train',
  'methods',
  'modelSize',
  'model',
  'checkpoints',
  'out',
  'seed',
  'epochs',
  'maxSamples',
  'latencyPosts',
  'throughputSeconds',
  'device',
  'dtype',
  'offline',
] as const;

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
  expectPlainObject(options, 'options');
  expectKnownKeys(options, 'options', KEYS);
  const o = options;
  if (o.test !== undefined) expectNonEmptyString(o.test, 'test');
  if (o.train !== undefined) expectNonEmptyString(o.train, 'train');
  if (o.methods !== undefined) {
    expectStringArray(o.methods, 'methods');
    o.methods.forEach((m, i) => expectOneOf(m, `methods[${i}]`, METHODS));
  }
  if (o.modelSize !== undefined) expectOneOf(o.modelSize, 'modelSize', MODEL_SIZES);
  if (o.model !== undefined) expectNonEmptyString(o.model, 'model');
  if (o.checkpoints !== undefined) expectStringArray(o.checkpoints, 'checkpoints');
  if (o.out !== undefined) expectNonEmptyString(o.out, 'out');
  if (o.seed !== undefined) expectNonNegativeInteger(o.seed, 'seed');
  for (const k of ['epochs', 'maxSamples', 'latencyPosts', 'throughputSeconds'] as const)
    if (o[k] !== undefined) expectPositiveInteger(o[k], k);
  if (o.device !== undefined) expectDevice(o.device, 'device');
  if (o.dtype !== undefined) expectOneOf(o.dtype, 'dtype', DTYPE_OPTIONS);
  if (o.offline !== undefined) expectBoolean(o.offline, 'offline');

  const problems: string[] = [];
  const checkpoints = o.checkpoints ?? [];
  const training = checkpoints.length === 0;
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
  const methods = [...new Set(o.methods ?? COMPARE_DEFAULTS.methods)];
  if (methods.length === 0) problems.push(`${name('methods')}: give at least one of ${METHODS.join(', ')}`);
  if (problems.length) throw new CompareOptionsError(problems);

  const out = path.resolve(o.out ?? COMPARE_DEFAULTS.out);
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
    checkpoints: checkpoints.map((c) => path.resolve(c)),
    out,
    seed: o.seed,
    epochs: o.epochs,
    maxSamples: o.maxSamples,
    latencyPosts: o.latencyPosts ?? COMPARE_DEFAULTS.latencyPosts,
    throughputSeconds: o.throughputSeconds ?? COMPARE_DEFAULTS.throughputSeconds,
    device: o.device,
    dtype: o.dtype,
    offline: o.offline,
    base:
      o.model ??
      (o.modelSize ? `${repoIdFor(o.modelSize)} (${repoIdFor(o.modelSize, 'embedding')} for embedding)` : ''),
  };
}
