// A run folder: the trained adapter or head, its metadata (run.json), and a resumable checkpoint. This file owns the
// format, both reading and writing:
//   run.json                                   method, base model, prompt, label tokens, hyper-parameters, metrics,
//                                              the training data's fingerprint
//   adapter_config.json, adapter_model.safetensors   lora, lora-head (PEFT format, loads in Python PEFT)
//   model.safetensors, config.json             full (HF Qwen3ForSequenceClassification keys: model.*, score.weight)
//   head.safetensors                           embedding (classifier.* keys)
//   checkpoint/                                the latest state for --resume (weights, optimizer, RNG, progress,
//                                              trainer_state.json written last); checkpoint-<step>/ older ones kept
//                                              by saveTotalLimit; a finished `full` run drops them (3x its size)
// A folder with adapter_config.json and no run.json (a PEFT adapter trained in Python) is a run too: CAUSAL_LM
// adapters serve as `lora`, SEQ_CLS ones as `lora-head`. The old script's pickled embedding heads (*.pth) are
// recognised and refused with what to do (pickle can run code when read).
//
// Staging (run-staging.ts does it): a run trains in `<output>.partial/` (same layout, plus owner.json naming the pid
// that writes it) and only a finished run is renamed to `<output>`, so a finished run is replaced by a finished one
// only; Ctrl-C, SIGTERM or kill -9 leave `<output>` as it was and the interrupted run in `.partial` for --resume (a
// resume of a finished run's checkpoint starts `.partial` as hard links to it). During the swap the old run is
// `<output>.previous.tmp-<pid>-<hex>`; a kill there is rolled back on the next use. Every file is written to
// `<name>.tmp-<pid>-<hex>` and renamed, checkpoints are staged in `checkpoint.staging.tmp-<pid>-<hex>` and swapped in;
// such names whose process is dead are removed when a training next claims the run.
import * as fs from 'fs';
import * as path from 'path';
import type { Qwen3Checkpoint } from '../qwen3/checkpoint';
import { PAD_TOKEN_ID } from '../qwen3/tokens';
import { temporaryName, writeJsonAtomic } from '../util/atomic-write';
import { readJsonObject, JsonFileError } from '../util/json-file';
import { id2label, label2id, labelsFromRecord } from './labels';
import type { Metrics } from './metrics';
import {
  DEFAULT_END_TOKEN,
  DEFAULT_LABEL_TOKENS,
  DEFAULT_LORA_PROMPT,
  ID2LABEL,
  METHODS,
  usesLora,
  weightsFileFor,
  type Method,
} from './methods';
import type { RunTotals } from './run-totals';
import { latestCheckpoint, recoverPublish, TRAINER_STATE, workFolder, writeCheckpointFolder } from './run-staging';

export const RUN_FORMAT = 'qwen3-native-run';
export const RUN_VERSION = 1;

export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targetModules: string[];
}

/** What a run was trained on, enough to tell other data from the same: --resume refuses other data by name. */
export interface DataFingerprint {
  /** the file as given, or a description of in-memory data */
  name: string;
  count: number;
  /** sha256 over every example's text and label */
  sha256: string;
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
  /** lora: each label's answer word as tokens, the words concatenated (encoding.ts LabelAnswers) */
  labelTokens?: number[];
  /** lora: tokens per label word, written only when some word is not one token */
  labelTokenCounts?: number[];
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
  /** the training (and given dev) data */
  data?: { train: DataFingerprint; eval?: DataFingerprint };
  stopped?: boolean;
  totals?: RunTotals;
  createdAt: string;
  updatedAt: string;
  versions: { package: string; libtorch: string };
}

const RUN_FIX =
  'The run folder is damaged: train it again (qwen3-native train ... --output <the folder>) or restore the file from a copy.';
const ADAPTER_FIX =
  'A PEFT LoRA adapter folder holds adapter_config.json as PeftModel.save_pretrained writes it, next to ' +
  'adapter_model.safetensors: save the adapter again, or re-train it.';
const STATE_FIX =
  'The checkpoint is damaged: start the run again without --resume (a finished run in the output folder stays until the new one finishes).';

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** torch.save files (the old qwen3_embedding_universal.py saved its heads as ./models/*_sentiment.pth). */
export function isPickledFile(file: string): boolean {
  return /\.(pth|pt|pkl|pickle|bin)$/i.test(file);
}

/** Why a pickled file is not read, and what to do instead: re-train, or convert its weights in Python. */
export function pickledFileError(file: string): Error {
  const base = path.basename(file);
  const size = /(0\.6|4|8)b/i.exec(base)?.[1];
  return new Error(
    `${file} is a pickled PyTorch file (torch.save; the old qwen3_embedding_universal.py saved its heads so): not ` +
      `read, as reading a pickle can run any code. Train the head again: qwen3-native train --method embedding ` +
      `--model-size ${size ? `${size}B` : '<0.6B|4B|8B>'} (the quick method).\n` +
      'Or, where you trust the file, save its weights as safetensors in Python:\n' +
      '  import torch; from safetensors.torch import save_file\n' +
      `  d = torch.load('${base}', map_location='cpu', weights_only=False)\n` +
      `  save_file({k: v.contiguous() for k, v in d['classifier_state_dict'].items()}, '${base.replace(/\.[^.]+$/, '')}.safetensors')\n` +
      "(the old head read the first token's hidden state and this package's embedding method pools the last one, as " +
      'Qwen3-Embedding is meant to be used: a converted head does not carry its predictions over; re-train for a working run)'
  );
}

/** The first line of an error, for one-line notes ("skipping <run>: <why>"). */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

export function readRunInfo(dir: string): RunInfo {
  recoverPublish(dir);
  if (isFile(dir)) {
    if (isPickledFile(dir)) throw pickledFileError(dir);
    throw new Error(`${dir} is a file, not a run folder (a folder holding run.json or adapter_config.json)`);
  }
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) {
    if (fs.existsSync(path.join(dir, 'adapter_config.json'))) return runInfoFromPeft(dir);
    const partial = latestCheckpoint(workFolder(dir))
      ? `; an interrupted run waits in ${workFolder(dir)}: finish it with the same qwen3-native train command plus --resume`
      : '';
    const why = fs.existsSync(dir) ? 'is not a qwen3-native run folder (no run.json)' : 'does not exist';
    throw new Error(`${dir} ${why}${partial}; train one with \`qwen3-native train\``);
  }
  const raw = readJsonObject(file, RUN_FIX, {
    format: 'string',
    version: 'integer',
    method: 'string',
    baseModel: 'object',
    maxLength: 'integer+',
    prompt: 'string?',
    instruction: 'string?',
    labelTokens: 'integer[]?',
    labelTokenCounts: 'integer[]?',
    endToken: 'integer?',
    appendToken: 'integer?',
    head: 'string?',
    hyperParameters: 'object?',
    history: 'array?',
  });
  if (raw.format !== RUN_FORMAT) throw new JsonFileError(file, `${file} is not a qwen3-native run description`);
  if ((raw.version as number) > RUN_VERSION)
    throw new JsonFileError(file, `${file} was written by a newer qwen3-native (run format ${raw.version})`);
  const problems: string[] = [];
  if (!METHODS.includes(raw.method as Method))
    problems.push(`"method" should be one of ${METHODS.join(', ')} but is ${JSON.stringify(raw.method)}`);
  const base = raw.baseModel as Record<string, unknown>;
  if (typeof base.spec !== 'string') problems.push('"baseModel.spec" should be a string');
  if (typeof base.dir !== 'string') problems.push('"baseModel.dir" should be a string');
  if (raw.method === 'lora' && !Array.isArray(raw.labelTokens)) problems.push('"labelTokens" is missing (lora)');
  let count = 2;
  try {
    count = labelsFromRecord(raw.labels, 'run.json').length;
  } catch (e) {
    problems.push((e as Error).message.replace(/^run\.json: /, ''));
  }
  const counts = raw.labelTokenCounts as number[] | undefined;
  if (raw.method === 'lora' && Array.isArray(raw.labelTokens)) {
    const words = counts ? counts.length : raw.labelTokens.length;
    const tokens = counts ? counts.reduce((a, b) => a + b, 0) : raw.labelTokens.length;
    if (words !== count) problems.push(`"labelTokens" has ${words} label words for ${count} labels`);
    else if (tokens !== raw.labelTokens.length || (counts && counts.some((n) => n < 1)))
      problems.push(`"labelTokenCounts" ${JSON.stringify(counts)} does not split the ${raw.labelTokens.length} tokens`);
  }
  if (problems.length) throw new JsonFileError(file, `${file}: ${problems.join('; ')}. ${RUN_FIX}`);
  return { history: [], hyperParameters: {}, labels: { ...ID2LABEL }, ...raw } as unknown as RunInfo;
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

function readAdapterConfig(file: string): Record<string, unknown> {
  return readJsonObject(file, ADAPTER_FIX, {
    peft_type: 'string?',
    r: 'integer+',
    lora_alpha: 'number',
    lora_dropout: 'number?',
    use_rslora: 'boolean?',
    task_type: 'string?',
    base_model_name_or_path: 'string?',
  });
}

/** Reads LoRA settings from a PEFT adapter_config.json, rejecting what this package cannot apply. */
export function loraFromPeftConfig(file: string): LoraSettings {
  const cfg = readAdapterConfig(file);
  const problems: string[] = [];
  if (cfg.peft_type !== 'LORA') problems.push(`peft_type ${JSON.stringify(cfg.peft_type)} (only LORA)`);
  if (cfg.use_dora) problems.push('use_dora true');
  if (cfg.fan_in_fan_out) problems.push('fan_in_fan_out true');
  if (cfg.bias && cfg.bias !== 'none') problems.push(`bias ${JSON.stringify(cfg.bias)}`);
  for (const k of ['rank_pattern', 'alpha_pattern'])
    if (cfg[k] && typeof cfg[k] === 'object' && Object.keys(cfg[k] as object).length) problems.push(k);
  const t = cfg.target_modules;
  const targets = Array.isArray(t) ? t : typeof t === 'string' ? [t] : undefined;
  if (!targets || targets.length === 0 || !targets.every((x) => typeof x === 'string'))
    problems.push(
      `target_modules ${JSON.stringify(t) ?? 'missing'} (a list of module names, e.g. ["q_proj","v_proj"])`
    );
  if (problems.length) throw new JsonFileError(file, `${file}: unsupported adapter settings: ${problems.join(', ')}`);
  return {
    r: cfg.r as number,
    alpha: cfg.lora_alpha as number,
    dropout: (cfg.lora_dropout as number | undefined) ?? 0,
    rslora: !!cfg.use_rslora,
    targetModules: targets as string[],
  };
}

/** Moves every file of `staging` into `dir`, run.json last, so run.json never describes weights not yet there. */
export function publishFiles(staging: string, dir: string): void {
  const files = fs
    .readdirSync(staging)
    .sort((a, b) => (a === 'run.json' ? 1 : b === 'run.json' ? -1 : a.localeCompare(b)));
  for (const f of files) fs.renameSync(path.join(staging, f), path.join(dir, f));
  fs.rmSync(staging, { recursive: true, force: true });
}

/** The first dimension of a PEFT SEQ_CLS adapter's score.weight (read from the safetensors header), if found. */
function scoreRows(file: string): number | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const size = Buffer.alloc(8);
    fs.readSync(fd, size, 0, 8, 0);
    const length = Number(size.readBigUInt64LE(0));
    if (length > 100 * 2 ** 20) return undefined;
    const header = Buffer.alloc(length);
    fs.readSync(fd, header, 0, length, 8);
    const tensors = JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>;
    const key = Object.keys(tensors).find((k) => /(^|\.)score\.weight$/.test(k));
    return key ? tensors[key].shape?.[0] : undefined;
  } catch {
    return undefined; // the weights' own loader reports a damaged file
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A run description for a bare PEFT adapter folder (e.g. trained in Python): CAUSAL_LM adapters are served as
 * `lora` with the default prompt and label tokens, SEQ_CLS adapters (with base_model.model.score.weight) as
 * `lora-head`. The base model is the adapter's base_model_name_or_path unless the caller overrides it.
 */
export function runInfoFromPeft(dir: string): RunInfo {
  const file = path.join(dir, 'adapter_config.json');
  const cfg = readAdapterConfig(file);
  const lora = loraFromPeftConfig(file);
  if (!isFile(path.join(dir, 'adapter_model.safetensors'))) {
    const bin = isFile(path.join(dir, 'adapter_model.bin'));
    throw new Error(
      `${dir} has adapter_config.json but no adapter_model.safetensors` +
        (bin
          ? ': its adapter_model.bin is a pickle, which qwen3-native does not read (it can run code). Where you trust ' +
            "it, convert it in Python: import torch; from safetensors.torch import save_file; save_file(torch.load('adapter_model.bin', map_location='cpu'), 'adapter_model.safetensors')"
          : '')
    );
  }
  const method: Method = cfg.task_type === 'SEQ_CLS' ? 'lora-head' : 'lora';
  // A SEQ_CLS adapter's label count is its score head's height; 2 keeps the default set, others get HF's LABEL_<i>.
  const n = method === 'lora-head' ? scoreRows(path.join(dir, 'adapter_model.safetensors')) : 2;
  const labels =
    n === undefined || n === 2 ? { ...ID2LABEL } : id2label(Array.from({ length: n }, (_, i) => `LABEL_${i}`));
  const base = typeof cfg.base_model_name_or_path === 'string' ? cfg.base_model_name_or_path : '';
  const now = new Date().toISOString();
  return {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    method,
    baseModel: { spec: base, dir: base, hiddenSize: 0 },
    labels,
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

const TRAINING_STATE = 'training_state.safetensors';

/** Writes the current weights as the run's model in `runDir` (the work folder), with run.json last. */
export async function publishRun(
  runDir: string,
  info: RunInfo,
  base: Qwen3Checkpoint,
  weights: TrainedWeights
): Promise<void> {
  const staging = temporaryName(path.join(runDir, '.publish'));
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
        id2label: info.labels,
        label2id: label2id(labelsFromRecord(info.labels, 'run.json')),
        pad_token_id: PAD_TOKEN_ID,
        torch_dtype: 'float32',
      });
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
        const src = path.join(base.dir, f);
        if (fs.existsSync(src)) fs.copyFileSync(src, path.join(staging, f));
      }
    }
    writeJsonAtomic(path.join(staging, 'run.json'), info);
    publishFiles(staging, runDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Updates run.json alone (history, stopped) when the weights it describes are already in place. */
export function writeRunInfo(runDir: string, info: RunInfo): void {
  writeJsonAtomic(path.join(runDir, 'run.json'), info);
}

/** Replaces `<runDir>/checkpoint` with the trainer's state, weights and optimizer state; returns its path. */
export async function writeCheckpoint(
  runDir: string,
  method: Method,
  state: unknown,
  c: CheckpointWriter,
  keep = 1
): Promise<string> {
  return writeCheckpointFolder(runDir, keep, async (staging) => {
    await c.saveWeights(path.join(staging, weightsFileFor(method)));
    await c.saveTrainingState(path.join(staging, TRAINING_STATE));
    writeJsonAtomic(path.join(staging, TRAINER_STATE), state); // last: its presence marks a complete checkpoint
  });
}

/** The files of a checkpoint folder written by writeCheckpoint; trainer_state.json checked for its shape. */
export function checkpointFiles(
  dir: string,
  method: Method
): { state: Record<string, unknown>; weights: string; trainingState: string } {
  const state = readJsonObject(path.join(dir, TRAINER_STATE), STATE_FIX, {
    fingerprint: 'object',
    epoch: 'integer',
    batchInEpoch: 'integer',
    globalStep: 'integer',
    evalsWithoutImprovement: 'integer',
    info: 'object',
  });
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
      if (fs.statSync(src).isFile() && !f.startsWith('.') && f !== 'owner.json')
        fs.copyFileSync(src, path.join(staging, f));
    }
    publishFiles(staging, target);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** A folder holding a trained run: its run.json, or a bare PEFT adapter's adapter_config.json. */
export function isRunFolder(dir: string): boolean {
  return isFile(path.join(dir, 'run.json')) || isFile(path.join(dir, 'adapter_config.json'));
}
