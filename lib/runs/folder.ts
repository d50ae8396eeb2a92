// A run folder: the trained adapter or head, its metadata (run.json), and a resumable checkpoint. This file owns the
// format, both reading and writing:
//   run.json                                   method, base model, prompt, label tokens, hyper-parameters, metrics,
//                                              the training data's fingerprint
//   test_results.json, README.md               the published weights' test-set result; the model card (results.ts)
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
// Staging (staging.ts does it): a run trains in `<output>.partial/` (same layout, plus owner.json naming the pid
// that writes it) and only a finished run is renamed to `<output>`, so a finished run is replaced by a finished one
// only; Ctrl-C, SIGTERM or kill -9 leave `<output>` as it was and the interrupted run in `.partial` for --resume (a
// resume of a finished run's checkpoint starts `.partial` as hard links to it). During the swap the old run is
// `<output>.previous.tmp-<pid>-<hex>`; a kill there is rolled back on the next use. Every file is written to
// `<name>.tmp-<pid>-<hex>` and renamed, checkpoints are staged in `checkpoint.staging.tmp-<pid>-<hex>` and swapped in;
// such names whose process is dead are removed when a training next claims the run.
import * as fs from 'fs';
import * as path from 'path';
import type { Qwen3Folder } from '../qwen3/folder';
import { PAD_TOKEN_ID } from '../qwen3/tokens';
import { temporaryName, writeJsonAtomic } from '../util/atomic-write';
import { checkJsonObject, readJsonObject, JsonFileError } from '../util/json-file';
import { label2id, labelsFromRecord } from '../classifier/labels';
import { usesLora, weightsFileFor, type Method } from '../classifier/methods';
import { peftAdapterConfig, runInfoFromPeft } from './peft';
import {
  RUN_FORMAT,
  RUN_VERSION,
  RunInfoSchema,
  TEST_RESULTS_FILE,
  TrainerStateSchema,
  type RunInfo,
  type TrainerState,
} from './schema';
import { latestCheckpoint, recoverPublish, TRAINER_STATE, workFolder, writeCheckpointFolder } from './staging';
import { isFile } from '../util/regular-file';

const RUN_FIX =
  'The run folder is damaged: train it again (qwen3-native train ... --output <the folder>) or restore the file from a copy.';
const STATE_FIX =
  'The checkpoint is damaged: start the run again without --resume (a finished run in the output folder stays until the new one finishes).';

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
  const raw = readJsonObject(file, RUN_FIX);
  if (raw.format !== RUN_FORMAT) throw new JsonFileError(file, `${file} is not a qwen3-native run description`);
  if (typeof raw.version === 'number' && raw.version > RUN_VERSION)
    throw new JsonFileError(file, `${file} was written by a newer qwen3-native (run format ${raw.version})`);
  const info = checkJsonObject(file, raw, RUN_FIX, RunInfoSchema);
  // What the schema cannot say: how fields agree with each other.
  const problems: string[] = [];
  if (info.method === 'lora' && !info.labelTokens) problems.push('"labelTokens" is missing (lora)');
  let count = 2;
  try {
    count = labelsFromRecord(info.labels, 'run.json').length;
  } catch (e) {
    problems.push((e as Error).message.replace(/^run\.json: /, ''));
  }
  const counts = info.labelTokenCounts;
  if (info.method === 'lora' && info.labelTokens) {
    const words = counts ? counts.length : info.labelTokens.length;
    const tokens = counts ? counts.reduce((a, b) => a + b, 0) : info.labelTokens.length;
    if (words !== count) problems.push(`"labelTokens" has ${words} label words for ${count} labels`);
    else if (tokens !== info.labelTokens.length)
      problems.push(
        `"labelTokenCounts" ${JSON.stringify(counts)} does not split the ${info.labelTokens.length} tokens`
      );
  }
  if (problems.length) throw new JsonFileError(file, `${file}: ${problems.join('; ')}. ${RUN_FIX}`);
  return info;
}

/** Moves every file of `staging` into `dir`, run.json last, so run.json never describes weights not yet there. */
export function publishFiles(staging: string, dir: string): void {
  const files = fs
    .readdirSync(staging)
    .sort((a, b) => (a === 'run.json' ? 1 : b === 'run.json' ? -1 : a.localeCompare(b)));
  for (const f of files) fs.renameSync(path.join(staging, f), path.join(dir, f));
  fs.rmSync(staging, { recursive: true, force: true });
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
  base: Qwen3Folder,
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
    // A test result measured other weights than these.
    fs.rmSync(path.join(runDir, TEST_RESULTS_FILE), { force: true });
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
  state: TrainerState,
  c: CheckpointWriter,
  keep = 1
): Promise<string> {
  return writeCheckpointFolder(runDir, keep, async (staging) => {
    await c.saveWeights(path.join(staging, weightsFileFor(method)));
    await c.saveTrainingState(path.join(staging, TRAINING_STATE));
    writeJsonAtomic(path.join(staging, TRAINER_STATE), state); // last: its presence marks a complete checkpoint
  });
}

/** The files of a checkpoint folder written by writeCheckpoint; trainer_state.json checked against its schema. */
export function checkpointFiles(
  dir: string,
  method: Method
): { state: TrainerState; weights: string; trainingState: string } {
  const state = readJsonObject(path.join(dir, TRAINER_STATE), STATE_FIX, TrainerStateSchema);
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
