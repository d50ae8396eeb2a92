// Trainer options: the schema (schema.ts) checks them and fills the defaults every method shares; this file adds the
// per-method defaults and the rules that tie options together.
import * as path from 'path';
import { repoIdFor } from '../qwen3/presets';
import { invalidRangeError } from '../util/is';
import { expectOutputFolder } from '../util/paths';
import { resolveOptions } from '../util/schema-errors';
import type { LoraSettings } from '../runs/schema';
import { checkLabelSet } from '../classifier/labels';
import {
  METHOD_DEFAULTS,
  defaultOutput,
  familyFor,
  keepsCheckpointByDefault,
  needsFloat32,
} from '../classifier/methods';
import { distributedFromEnv, resolveDistributed, type ResolvedDistributed } from './distributed';
import { TrainerOptionsSchema, type LoraOptions, type TrainerOptions } from './schema';

export type { LoraOptions, TrainerOptions };

export type ResolvedTrainerOptions = Required<
  Omit<
    TrainerOptions,
    | 'lora'
    | 'model'
    | 'maxSamples'
    | 'evalSteps'
    | 'saveSteps'
    | 'offline'
    | 'cacheDir'
    | 'prompt'
    | 'instruction'
    | 'labels'
    | 'distributed'
  >
> & {
  /** undefined: one process */
  distributed?: ResolvedDistributed;
  /** as given; undefined: the default for the run's label set (labels.ts) */
  prompt?: string;
  instruction?: string;
  labels?: string[];
  model: string;
  lora: LoraSettings;
  maxSamples?: number;
  evalSteps?: number;
  saveSteps?: number;
  offline?: boolean;
  cacheDir?: string;
};

export function resolveTrainerOptions(options: TrainerOptions): ResolvedTrainerOptions {
  const o = resolveOptions(TrainerOptionsSchema, options);
  const method = o.method;
  const d = METHOD_DEFAULTS[method];
  if (o.output !== undefined) expectOutputFolder(o.output, 'output'); // /proc/x made mkdir loop forever
  const labels = o.labels === undefined ? undefined : checkLabelSet(o.labels, 'labels');
  const distributed =
    o.distributed === false
      ? undefined
      : o.distributed === undefined
        ? resolveDistributed(distributedFromEnv(), 'the environment (RANK, WORLD_SIZE, ...)')
        : resolveDistributed(o.distributed);
  if (needsFloat32(method) && o.dtype !== undefined && o.dtype !== 'auto' && o.dtype !== 'float32') {
    throw invalidRangeError(`'float32' (method '${method}' trains every weight in float32)`, 'dtype', o.dtype);
  }
  // The schema's defaults filled every key but these, whose defaults depend on the method or the data.
  const filled = o as Required<typeof o>;
  return {
    ...filled,
    model: o.model ?? repoIdFor(filled.modelSize, familyFor(method)),
    output: path.resolve(o.output ?? defaultOutput(method, filled.modelSize)),
    epochs: o.epochs ?? d.epochs,
    batchSize: o.batchSize ?? d.batchSize,
    learningRate: o.learningRate ?? d.learningRate,
    lora: filled.lora as LoraSettings,
    instruction: o.instruction,
    prompt: o.prompt,
    labels,
    evalSteps: o.evalSteps,
    saveSteps: o.saveSteps,
    keepCheckpoint: o.keepCheckpoint ?? keepsCheckpointByDefault(method),
    maxSamples: o.maxSamples,
    dtype: o.dtype ?? (needsFloat32(method) ? 'float32' : 'auto'),
    offline: o.offline,
    cacheDir: o.cacheDir,
    distributed,
  };
}

/** Settings that must match between a checkpoint and the run resuming it. */
export function resumeFingerprint(o: ResolvedTrainerOptions): Record<string, unknown> {
  return {
    method: o.method,
    model: o.model,
    epochs: o.epochs,
    // The global micro-batch: a run saved at world size N resumes at another with batchSize * worldSize the same.
    batchSize: o.batchSize * (o.distributed?.worldSize ?? 1),
    gradientAccumulation: o.gradientAccumulation,
    learningRate: o.learningRate,
    weightDecay: o.weightDecay,
    warmupRatio: o.warmupRatio,
    scheduler: o.scheduler,
    lora: o.lora,
    head: o.head,
    maxLength: o.maxLength,
    seed: o.seed,
    maxSamples: o.maxSamples ?? null,
    devFraction: o.devFraction,
    ...(o.labels ? { labels: o.labels } : {}),
  };
}
