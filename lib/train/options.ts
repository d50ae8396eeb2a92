// Trainer options: defaults per method and validation with messages naming the option.
import * as path from 'path';
import { DEFAULT_MODEL_SIZE, MODEL_SIZES, repoIdFor, type ModelSize } from '../qwen3/presets';
import { DTYPE_OPTIONS, expectDevice, type DeviceOption, type DTypeOption } from '../qwen3/runtime';
import {
  expectBoolean,
  expectKnownKeys,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectNumberBetweenExclusive,
  expectNumberInRange,
  expectOneOf,
  expectOptionalOptions,
  expectPlainObject,
  expectPositiveInteger,
  expectPositiveNumber,
  expectString,
  expectStringArray,
  invalidRangeError,
} from '../util/is';
import { expectOutputFolder } from '../util/paths';
import {
  distributedFromEnv,
  resolveDistributed,
  type DistributedOptions,
  type ResolvedDistributed,
} from './distributed';
import { checkLabelSet } from '../classifier/labels';
import {
  DEFAULT_EMBEDDING_INSTRUCTION,
  DEFAULT_LORA_PROMPT,
  METHOD_DEFAULTS,
  METHODS,
  defaultOutput,
  familyFor,
  keepsCheckpointByDefault,
  needsFloat32,
  type Method,
} from '../classifier/methods';
import { SCHEDULERS, type SchedulerKind } from './schedule';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

export interface LoraOptions {
  /** rank (defaults: TRAINER_DEFAULTS.lora) */
  r?: number;
  /** scale numerator: scale = alpha / r, or alpha / sqrt(r) with rslora */
  alpha?: number;
  /** dropout on the LoRA path's input */
  dropout?: number;
  rslora?: boolean;
  /** default q_proj, k_proj, v_proj, o_proj */
  targetModules?: string[];
}

/** Options of a Trainer; defaults: METHOD_DEFAULTS (per method) and TRAINER_DEFAULTS (the rest). */
export interface TrainerOptions {
  method: Method;
  /** '0.6B' | '4B' | '8B': picks Qwen/Qwen3-{size} or Qwen/Qwen3-Embedding-{size} */
  modelSize?: ModelSize;
  /** a model folder, a Hugging Face repo id, a name under ./models, or 'tiny' / 'tiny-embedding' */
  model?: string;
  /** run folder (default ./models/qwen3_<method>_<size>) */
  output?: string;
  epochs?: number;
  /** examples per micro-batch */
  batchSize?: number;
  /** micro-batches per optimizer step */
  gradientAccumulation?: number;
  learningRate?: number;
  weightDecay?: number;
  /** fraction of optimizer steps spent warming up */
  warmupRatio?: number;
  scheduler?: SchedulerKind;
  /** global gradient-norm clip (0 turns it off) */
  maxGradNorm?: number;
  lora?: LoraOptions;
  /** embedding method's head ('mlp' is the old script's) */
  head?: 'linear' | 'mlp';
  /** embedding method: Qwen3-Embedding instruction ('' for none) */
  instruction?: string;
  /** lora method: the prompt, with {text} where the post goes and optionally {labels} (the label words listed) */
  prompt?: string;
  /** the label set, label 0 first (default: from the data; the binary 负面/正面 set for 0/1 labels) */
  labels?: string[];
  /** most tokens per input */
  maxLength?: number;
  /** dev split taken from the training data when no evalData is given */
  devFraction?: number;
  /** evaluate every N optimizer steps (default: at the end of each epoch) */
  evalSteps?: number;
  /** also write a checkpoint every N optimizer steps (default: at each evaluation only) */
  saveSteps?: number;
  /** checkpoints kept: checkpoint/ plus the newest checkpoint-<step>/ folders (default 1: the latest only) */
  saveTotalLimit?: number;
  /** keep checkpoint/ once the run finishes (default: yes, except `full`, where it is 3x the model's size) */
  keepCheckpoint?: boolean;
  /** stop after this many evaluations without improvement (0: never) */
  earlyStoppingPatience?: number;
  /** which dev metric chooses the best checkpoint */
  bestMetric?: 'accuracy' | 'macroF1';
  /** keep only this many training examples (stratified, seeded) */
  maxSamples?: number;
  seed?: number;
  device?: DeviceOption;
  dtype?: DTypeOption;
  /** recompute layer activations in backward (saves memory on 4B/8B) */
  gradientCheckpointing?: boolean;
  /** continue from output/checkpoint with optimizer, scheduler, data order and RNG state */
  resume?: boolean;
  /** never download (also env HF_HUB_OFFLINE) */
  offline?: boolean;
  /** where embedding-method vectors are cached (default ~/.cache/qwen3-native/embeddings) */
  cacheDir?: string;
  /**
   * data-parallel training: this process's rank, the world size and the rendezvous (default: torchrun's RANK,
   * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT when WORLD_SIZE is set; `false`: one process whatever the env)
   */
  distributed?: DistributedOptions | false;
}

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
  lora: Required<LoraOptions>;
  maxSamples?: number;
  evalSteps?: number;
  saveSteps?: number;
  offline?: boolean;
  cacheDir?: string;
};

const KEYS = [
  'method',
  'modelSize',
  'model',
  'output',
  'epochs',
  'batchSize',
  'gradientAccumulation',
  'learningRate',
  'weightDecay',
  'warmupRatio',
  'scheduler',
  'maxGradNorm',
  'lora',
  'head',
  'instruction',
  'prompt',
  'maxLength',
  'devFraction',
  'evalSteps',
  'saveSteps',
  'saveTotalLimit',
  'keepCheckpoint',
  'earlyStoppingPatience',
  'bestMetric',
  'maxSamples',
  'seed',
  'device',
  'dtype',
  'gradientCheckpointing',
  'resume',
  'offline',
  'cacheDir',
  'labels',
  'distributed',
] as const;

/** Every default that is the same for all methods (per-method ones: METHOD_DEFAULTS); help text reads these. */
export const TRAINER_DEFAULTS = {
  modelSize: DEFAULT_MODEL_SIZE,
  gradientAccumulation: 1,
  weightDecay: 0.01,
  warmupRatio: 0.1,
  scheduler: 'cosine' as SchedulerKind,
  maxGradNorm: 1,
  lora: { r: 8, alpha: 16, dropout: 0.05, rslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
  head: 'mlp' as const,
  instruction: DEFAULT_EMBEDDING_INSTRUCTION,
  prompt: DEFAULT_LORA_PROMPT,
  // The longest weibo2018 post is about 250 tokens.
  maxLength: 256,
  devFraction: 0.1,
  saveTotalLimit: 1,
  earlyStoppingPatience: 0,
  bestMetric: 'accuracy' as const,
  seed: 42,
  device: 'auto' as DeviceOption,
  gradientCheckpointing: false,
  resume: false,
} as const;

export function resolveTrainerOptions(options: TrainerOptions): ResolvedTrainerOptions {
  expectPlainObject(options, 'options');
  expectKnownKeys(options, 'options', KEYS);
  expectOneOf(options.method, 'method', METHODS);
  const method = options.method;
  const d = METHOD_DEFAULTS[method];
  const o = { ...options };
  if (o.modelSize !== undefined) expectOneOf(o.modelSize, 'modelSize', MODEL_SIZES);
  const modelSize = o.modelSize ?? TRAINER_DEFAULTS.modelSize;
  if (o.model !== undefined) expectNonEmptyString(o.model, 'model');
  if (o.output !== undefined) expectNonEmptyString(o.output, 'output');
  if (o.output !== undefined) expectOutputFolder(o.output, 'output'); // /proc/x made mkdir loop forever
  for (const k of ['epochs', 'batchSize', 'gradientAccumulation', 'maxLength'] as const) {
    if (o[k] !== undefined) expectPositiveInteger(o[k], k);
  }
  if (o.maxSamples !== undefined) expectPositiveInteger(o.maxSamples, 'maxSamples');
  for (const k of ['evalSteps', 'saveSteps', 'saveTotalLimit'] as const) {
    if (o[k] !== undefined) expectPositiveInteger(o[k], k);
  }
  if (o.earlyStoppingPatience !== undefined) expectNonNegativeInteger(o.earlyStoppingPatience, 'earlyStoppingPatience');
  if (o.seed !== undefined) expectNonNegativeInteger(o.seed, 'seed');
  if (o.learningRate !== undefined) expectPositiveNumber(o.learningRate, 'learningRate');
  if (o.weightDecay !== undefined) expectNumberInRange(o.weightDecay, 'weightDecay', 0, 1);
  if (o.warmupRatio !== undefined) expectNumberInRange(o.warmupRatio, 'warmupRatio', 0, 1);
  if (o.maxGradNorm !== undefined) expectNumberInRange(o.maxGradNorm, 'maxGradNorm', 0, Number.MAX_VALUE);
  if (o.devFraction !== undefined) expectNumberBetweenExclusive(o.devFraction, 'devFraction', 0, 1);
  if (o.scheduler !== undefined) expectOneOf(o.scheduler, 'scheduler', SCHEDULERS);
  if (o.head !== undefined) expectOneOf(o.head, 'head', ['linear', 'mlp'] as const);
  if (o.bestMetric !== undefined) expectOneOf(o.bestMetric, 'bestMetric', ['accuracy', 'macroF1'] as const);
  if (o.device !== undefined) expectDevice(o.device, 'device');
  if (o.dtype !== undefined) expectOneOf(o.dtype, 'dtype', DTYPE_OPTIONS);
  if (o.instruction !== undefined) expectString(o.instruction, 'instruction');
  if (o.prompt !== undefined) {
    expectNonEmptyString(o.prompt, 'prompt');
    if (!o.prompt.includes('{text}')) throw invalidRangeError('a prompt containing {text}', 'prompt', o.prompt);
  }
  const labels = o.labels === undefined ? undefined : checkLabelSet(o.labels, 'labels');
  for (const k of ['gradientCheckpointing', 'resume', 'offline', 'keepCheckpoint'] as const) {
    if (o[k] !== undefined) expectBoolean(o[k], k);
  }
  if (o.cacheDir !== undefined) expectNonEmptyString(o.cacheDir, 'cacheDir');
  const distributed =
    o.distributed === false
      ? undefined
      : o.distributed === undefined
        ? resolveDistributed(distributedFromEnv(), 'the environment (RANK, WORLD_SIZE, ...)')
        : resolveDistributed(o.distributed);
  if (needsFloat32(method) && o.dtype !== undefined && o.dtype !== 'auto' && o.dtype !== 'float32') {
    throw invalidRangeError(`'float32' (method '${method}' trains every weight in float32)`, 'dtype', o.dtype);
  }
  const lora = expectOptionalOptions(o.lora, 'lora');
  expectKnownKeys(lora, 'lora', ['r', 'alpha', 'dropout', 'rslora', 'targetModules']);
  if (lora.r !== undefined) expectPositiveInteger(lora.r, 'lora.r');
  if (lora.alpha !== undefined) expectPositiveNumber(lora.alpha, 'lora.alpha');
  if (lora.dropout !== undefined) expectNumberInRange(lora.dropout, 'lora.dropout', 0, 0.99);
  if (lora.rslora !== undefined) expectBoolean(lora.rslora, 'lora.rslora');
  if (lora.targetModules !== undefined) {
    expectStringArray(lora.targetModules, 'lora.targetModules');
    if (lora.targetModules.length === 0)
      throw invalidRangeError('a non-empty list of module names', 'lora.targetModules', lora.targetModules);
    for (const m of lora.targetModules) expectOneOf(m, 'lora.targetModules[]', LORA_TARGETS);
  }
  const D = TRAINER_DEFAULTS;
  return {
    method,
    modelSize,
    model: o.model ?? repoIdFor(modelSize, familyFor(method)),
    output: path.resolve(o.output ?? defaultOutput(method, modelSize)),
    epochs: o.epochs ?? d.epochs,
    batchSize: o.batchSize ?? d.batchSize,
    gradientAccumulation: o.gradientAccumulation ?? D.gradientAccumulation,
    learningRate: o.learningRate ?? d.learningRate,
    weightDecay: o.weightDecay ?? D.weightDecay,
    warmupRatio: o.warmupRatio ?? D.warmupRatio,
    scheduler: o.scheduler ?? D.scheduler,
    maxGradNorm: o.maxGradNorm ?? D.maxGradNorm,
    lora: {
      r: lora.r ?? D.lora.r,
      alpha: lora.alpha ?? D.lora.alpha,
      dropout: lora.dropout ?? D.lora.dropout,
      rslora: lora.rslora ?? D.lora.rslora,
      targetModules: lora.targetModules ?? [...D.lora.targetModules],
    },
    head: o.head ?? D.head,
    instruction: o.instruction,
    prompt: o.prompt,
    labels,
    maxLength: o.maxLength ?? D.maxLength,
    devFraction: o.devFraction ?? D.devFraction,
    evalSteps: o.evalSteps,
    saveSteps: o.saveSteps,
    saveTotalLimit: o.saveTotalLimit ?? D.saveTotalLimit,
    keepCheckpoint: o.keepCheckpoint ?? keepsCheckpointByDefault(method),
    earlyStoppingPatience: o.earlyStoppingPatience ?? D.earlyStoppingPatience,
    bestMetric: o.bestMetric ?? D.bestMetric,
    maxSamples: o.maxSamples,
    seed: o.seed ?? D.seed,
    device: o.device ?? D.device,
    dtype: o.dtype ?? (needsFloat32(method) ? 'float32' : 'auto'),
    gradientCheckpointing: o.gradientCheckpointing ?? D.gradientCheckpointing,
    resume: o.resume ?? D.resume,
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
