// The shapes of a run folder's JSON files (run.json; PEFT's adapter_config.json is peft.ts's): the types the
// package reads and writes.
import type { Metrics } from '../classifier/metrics';
import type { Method } from '../classifier/methods';

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

/** What training a run took, measured by train/history.ts and written to run.json when training ends. */
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
