// A run folder: the trained adapter or head, its metadata (run.json), and a resumable checkpoint.
//   run.json                                   method, base model, prompt, label tokens, hyper-parameters, metrics
//   adapter_config.json, adapter_model.safetensors   lora, lora-head (PEFT format, loads in Python PEFT)
//   model.safetensors, config.json             full (HF Qwen3ForSequenceClassification keys: model.*, score.weight)
//   head.safetensors                           embedding (classifier.* keys)
//   checkpoint/                                the latest state for --resume (weights, optimizer, RNG, progress)
// Every file is written to a temporary name and renamed, and a folder of files is staged and swapped in, so a crash
// never leaves a half-written checkpoint.
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_END_TOKEN, DEFAULT_LABEL_TOKENS, DEFAULT_LORA_PROMPT, type Method } from './encoding';
import type { Metrics } from './metrics';

export const RUN_FORMAT = 'qwen3-native-run';
export const RUN_VERSION = 1;

export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targetModules: string[];
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
  createdAt: string;
  updatedAt: string;
  versions: { package: string; libtorch: string };
}

export function weightsFileFor(method: Method): string {
  switch (method) {
    case 'lora':
    case 'lora-head':
      return 'adapter_model.safetensors';
    case 'full':
      return 'model.safetensors';
    default:
      return 'head.safetensors';
  }
}

export function writeFileAtomic(file: string, contents: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof contents === "string" ? Buffer.from(contents, "utf8") : contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function readRunInfo(dir: string): RunInfo {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file) && fs.existsSync(path.join(dir, 'adapter_config.json'))) return runInfoFromPeft(dir);
  if (!fs.existsSync(file)) {
    throw new Error(`${dir} is not a qwen3-native run folder (no run.json); train one with \`qwen3-native train\``);
  }
  const info = JSON.parse(fs.readFileSync(file, 'utf8')) as RunInfo;
  if (info.format !== RUN_FORMAT) throw new Error(`${file} is not a qwen3-native run description`);
  if (info.version > RUN_VERSION) throw new Error(`${file} was written by a newer qwen3-native (run format ${info.version})`);
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
  const targets = Array.isArray(cfg.target_modules) ? cfg.target_modules : typeof cfg.target_modules === 'string' ? [cfg.target_modules] : [];
  return { r: cfg.r, alpha: cfg.lora_alpha, dropout: cfg.lora_dropout ?? 0, rslora: !!cfg.use_rslora, targetModules: targets };
}

/**
 * Replaces folder `target` with the files a callback writes into a fresh staging folder: the old folder stays whole
 * until the new one is complete, and a crash between the two renames leaves `<target>.old`, which readers accept.
 */
export async function writeFolderAtomic(target: string, fill: (staging: string) => Promise<void>): Promise<void> {
  const staging = `${target}.staging-${process.pid}`;
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
  const files = fs.readdirSync(staging).sort((a, b) => (a === 'run.json' ? 1 : b === 'run.json' ? -1 : a.localeCompare(b)));
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
    labels: { '0': '负面', '1': '正面' },
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
