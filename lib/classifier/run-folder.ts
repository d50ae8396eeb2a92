// A run folder: the trained adapter or head, its metadata (run.json), and a resumable checkpoint. This file owns the
// format, both reading and writing:
//   run.json                                   method, base model, prompt, label tokens, hyper-parameters, metrics
//   adapter_config.json, adapter_model.safetensors   lora, lora-head (PEFT format, loads in Python PEFT)
//   model.safetensors, config.json             full (HF Qwen3ForSequenceClassification keys: model.*, score.weight)
//   head.safetensors                           embedding (classifier.* keys)
//   checkpoint/                                the latest state for --resume (weights, optimizer, RNG, progress)
// Every file is written to a temporary name and renamed, and a folder of files is staged and swapped in, so a crash
// never leaves a half-written checkpoint.
import * as fs from 'fs';
import * as path from 'path';
import type { Qwen3Checkpoint } from '../qwen3/checkpoint';
import { PAD_TOKEN_ID } from '../qwen3/tokens';
import { temporaryName, writeJsonAtomic } from '../util/atomic-write';
import type { Metrics } from './metrics';
import {
  DEFAULT_END_TOKEN,
  DEFAULT_LABEL_TOKENS,
  DEFAULT_LORA_PROMPT,
  DEFAULT_METHOD_ORDER,
  ID2LABEL,
  LABEL2ID,
  runFolderName,
  usesLora,
  weightsFileFor,
  type Method,
} from './methods';

export const RUN_FORMAT = 'qwen3-native-run';
export const RUN_VERSION = 1;

export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targetModules: string[];
}

/** What training a run took, measured by run-history.ts and written to run.json when training ends. */
export interface RunTotals {
  /** from train() to the end: data loading, tokenizing and (embedding) computing vectors included */
  trainSeconds: number;
  steps: number;
  examplesSeen: number;
  tokensSeen: number;
  trainableParameters: number;
  /** every parameter the trained classifier computes with: base model + adapters/head */
  totalParameters: number;
  /** the process's peak resident memory at the end of training (VmHWM) */
  peakRssBytes: number;
  /** CUDA's peak allocated memory, null without CUDA */
  peakGpuBytes: number | null;
}

export interface RunInfo {
  format: typeof RUN_FORMAT;
  version: number;
  method: Method;
  /** what the user asked for (folder, repo id, 'tiny') and where it was found */
  baseModel: { spec: string; dir: string; repoId?: string; hiddenSize: number; vocabSize?: number };
  labels: Record<string, string>;
  maxLength: number;
  prompt?: string;
  instruction?: string;
  labelTokens?: number[];
  endToken?: number;
  /** token appended to every post before pooling (full) */
  appendToken?: number;
  lora?: LoraSettings;
  head?: 'linear' | 'mlp';
  dtype: string;
  hyperParameters: Record<string, unknown>;
  best?: { epoch: number; step: number; metric: string; value: number; metrics: Metrics };
  history: { epoch: number; step: number; trainLoss: number; metrics?: Metrics }[];
  trainExamples: number;
  devExamples: number;
  stopped?: boolean;
  /** sha256 over the training examples (run-history.ts dataFingerprint) */
  dataFingerprint?: string;
  totals?: RunTotals;
  createdAt: string;
  updatedAt: string;
  versions: { package: string; libtorch: string };
}

export function readRunInfo(dir: string): RunInfo {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file) && fs.existsSync(path.join(dir, 'adapter_config.json'))) return runInfoFromPeft(dir);
  if (!fs.existsSync(file)) {
    throw new Error(`${dir} is not a qwen3-native run folder (no run.json); train one with \`qwen3-native train\``);
  }
  const info = JSON.parse(fs.readFileSync(file, 'utf8')) as RunInfo;
  if (info.format !== RUN_FORMAT) throw new Error(`${file} is not a qwen3-native run description`);
  if (info.version > RUN_VERSION)
    throw new Error(`${file} was written by a newer qwen3-native (run format ${info.version})`);
  return info;
}

/** PEFT's adapter_config.json for the run's adapter. */
export function peftAdapterConfig(info: RunInfo): Record<string, unknown> {
  const lora = info.lora as LoraSettings;
  const seqCls = info.method === 'lora-head';
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: info.baseModel.repoId ?? info.baseModel.spec,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    modules_to_save: seqCls ? ['classifier', 'score'] : null,
    peft_type: 'LORA',
    r: lora.r,
    rank_pattern: {},
    revision: null,
    target_modules: lora.targetModules,
    task_type: seqCls ? 'SEQ_CLS' : 'CAUSAL_LM',
    use_dora: false,
    use_rslora: lora.rslora,
  };
}

/** Reads LoRA settings from a PEFT adapter_config.json, rejecting what this package cannot apply. */
export function loraFromPeftConfig(file: string): LoraSettings {
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const problems: string[] = [];
  if (cfg.peft_type !== 'LORA') problems.push(`peft_type ${JSON.stringify(cfg.peft_type)} (only LORA)`);
  if (cfg.use_dora) problems.push('use_dora true');
  if (cfg.fan_in_fan_out) problems.push('fan_in_fan_out true');
  if (cfg.bias && cfg.bias !== 'none') problems.push(`bias ${JSON.stringify(cfg.bias)}`);
  if (cfg.rank_pattern && Object.keys(cfg.rank_pattern).length) problems.push('rank_pattern');
  if (cfg.alpha_pattern && Object.keys(cfg.alpha_pattern).length) problems.push('alpha_pattern');
  if (problems.length) throw new Error(`${file}: unsupported adapter settings: ${problems.join(', ')}`);
  const targets = Array.isArray(cfg.target_modules)
    ? cfg.target_modules
    : typeof cfg.target_modules === 'string'
      ? [cfg.target_modules]
      : [];
  return {
    r: cfg.r,
    alpha: cfg.lora_alpha,
    dropout: cfg.lora_dropout ?? 0,
    rslora: !!cfg.use_rslora,
    targetModules: targets,
  };
}

/**
 * Replaces folder `target` with the files a callback writes into a fresh staging folder: the old folder stays whole
 * until the new one is complete, and a crash between the two renames leaves `<target>.old`, which readers accept.
 */
export async function writeFolderAtomic(target: string, fill: (staging: string) => Promise<void>): Promise<void> {
  const staging = temporaryName(`${target}.staging`);
  const old = `${target}.old`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  await fill(staging);
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(staging, target);
  fs.rmSync(old, { recursive: true, force: true });
}

/** The checkpoint folder to resume from: `checkpoint/`, or `checkpoint.old/` after a crash mid-swap. */
export function existingCheckpoint(runDir: string): string | undefined {
  for (const name of ['checkpoint', 'checkpoint.old']) {
    const dir = path.join(runDir, name);
    if (fs.existsSync(path.join(dir, 'trainer_state.json'))) return dir;
  }
  return undefined;
}

/** Moves every file of `staging` into `dir`, run.json last, so run.json never describes weights not yet there. */
export function publishFiles(staging: string, dir: string): void {
  const files = fs
    .readdirSync(staging)
    .sort((a, b) => (a === 'run.json' ? 1 : b === 'run.json' ? -1 : a.localeCompare(b)));
  for (const f of files) fs.renameSync(path.join(staging, f), path.join(dir, f));
  fs.rmSync(staging, { recursive: true, force: true });
}

/**
 * A run description for a bare PEFT adapter folder (e.g. trained in Python): CAUSAL_LM adapters are served as
 * `lora` with the default prompt and label tokens, SEQ_CLS adapters (with base_model.model.score.weight) as
 * `lora-head`. The base model is the adapter's base_model_name_or_path unless the caller overrides it.
 */
export function runInfoFromPeft(dir: string): RunInfo {
  const file = path.join(dir, 'adapter_config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const lora = loraFromPeftConfig(file);
  const method: Method = cfg.task_type === 'SEQ_CLS' ? 'lora-head' : 'lora';
  const base = typeof cfg.base_model_name_or_path === 'string' ? cfg.base_model_name_or_path : '';
  const now = new Date().toISOString();
  return {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    method,
    baseModel: { spec: base, dir: base, hiddenSize: 0 },
    labels: { ...ID2LABEL },
    maxLength: 256,
    prompt: method === 'lora' ? DEFAULT_LORA_PROMPT : undefined,
    labelTokens: method === 'lora' ? [...DEFAULT_LABEL_TOKENS] : undefined,
    endToken: method === 'lora' ? DEFAULT_END_TOKEN : undefined,
    lora,
    dtype: 'auto',
    hyperParameters: {},
    history: [],
    trainExamples: 0,
    devExamples: 0,
    createdAt: now,
    updatedAt: now,
    versions: { package: 'peft', libtorch: '' },
  };
}

// ---- writing a run ----

/** What the run folder needs from the classifier being trained. */
export interface TrainedWeights {
  /** writes the trainable weights, in their on-disk names, to `file` */
  saveWeights(file: string): Promise<void>;
}

export interface CheckpointWriter extends TrainedWeights {
  /** optimizer moments, step and RNG state */
  saveTrainingState(file: string): Promise<void>;
}

const TRAINER_STATE = 'trainer_state.json';
const TRAINING_STATE = 'training_state.safetensors';

/** Writes the current weights as the run's model in `output`, with run.json last. */
export async function publishRun(
  output: string,
  info: RunInfo,
  base: Qwen3Checkpoint,
  weights: TrainedWeights
): Promise<void> {
  const staging = temporaryName(path.join(output, '.publish'));
  fs.mkdirSync(staging, { recursive: true });
  try {
    await weights.saveWeights(path.join(staging, weightsFileFor(info.method)));
    if (usesLora(info.method)) {
      writeJsonAtomic(path.join(staging, 'adapter_config.json'), peftAdapterConfig(info));
    } else if (info.method === 'full') {
      // A complete HF Qwen3ForSequenceClassification folder.
      writeJsonAtomic(path.join(staging, 'config.json'), {
        ...base.hf,
        architectures: ['Qwen3ForSequenceClassification'],
        id2label: ID2LABEL,
        label2id: LABEL2ID,
        pad_token_id: PAD_TOKEN_ID,
        torch_dtype: 'float32',
      });
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
        const src = path.join(base.dir, f);
        if (fs.existsSync(src)) fs.copyFileSync(src, path.join(staging, f));
      }
    }
    writeJsonAtomic(path.join(staging, 'run.json'), info);
    publishFiles(staging, output);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Updates run.json alone (history, stopped) when the weights it describes are already in place. */
export function writeRunInfo(output: string, info: RunInfo): void {
  writeJsonAtomic(path.join(output, 'run.json'), info);
}

/** Replaces `<output>/checkpoint` with the trainer's state, weights and optimizer state; returns its path. */
export async function writeCheckpoint(
  output: string,
  method: Method,
  state: unknown,
  c: CheckpointWriter
): Promise<string> {
  const dir = path.join(output, 'checkpoint');
  await writeFolderAtomic(dir, async (staging) => {
    await c.saveWeights(path.join(staging, weightsFileFor(method)));
    await c.saveTrainingState(path.join(staging, TRAINING_STATE));
    writeJsonAtomic(path.join(staging, TRAINER_STATE), state);
  });
  return dir;
}

/** The files of a checkpoint folder written by writeCheckpoint. */
export function checkpointFiles(
  dir: string,
  method: Method
): { state: unknown; weights: string; trainingState: string } {
  const state = JSON.parse(fs.readFileSync(path.join(dir, TRAINER_STATE), 'utf8'));
  return { state, weights: path.join(dir, weightsFileFor(method)), trainingState: path.join(dir, TRAINING_STATE) };
}

/** Copies a finished run's files (not its checkpoint) to `target`, run.json last. */
export function copyRun(from: string, target: string): void {
  fs.mkdirSync(target, { recursive: true });
  const staging = temporaryName(path.join(target, '.staging'));
  fs.mkdirSync(staging, { recursive: true });
  try {
    for (const f of fs.readdirSync(from)) {
      const src = path.join(from, f);
      if (fs.statSync(src).isFile() && !f.startsWith('.')) fs.copyFileSync(src, path.join(staging, f));
    }
    publishFiles(staging, target);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

// ---- finding runs ----

/** A folder holding a trained run (its run.json). */
export function isRunFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'run.json'));
}

/** Every run folder (with run.json) directly under `modelsDir`. */
export function findRuns(modelsDir = path.resolve('models')): string[] {
  if (!fs.existsSync(modelsDir)) return [];
  return fs
    .readdirSync(modelsDir)
    .map((f) => path.join(modelsDir, f))
    .filter(isRunFolder)
    .sort();
}

/**
 * The default run folders a size (and method) names under `modelsDir`, in lookup order (DEFAULT_METHOD_ORDER when
 * no method is given), and the first that holds a run.
 */
export function findRunFor(modelsDir: string, size: string, method?: Method): { candidates: string[]; found?: string } {
  const methods = method ? [method] : DEFAULT_METHOD_ORDER;
  const candidates = methods.map((m) => path.join(modelsDir, runFolderName(m, size)));
  return { candidates, found: candidates.find(isRunFolder) };
}
