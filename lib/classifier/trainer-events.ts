// What a Trainer tells its listeners: every event with its payload, typed, so `trainer.on('progress', (p) => ...)`
// knows p and an unknown event name does not compile.
import type { ResolveProgress } from '../hub/api';
import type { Method } from './methods';
import type { Metrics } from './metrics';
import type { RunInfo } from './run-folder';

export interface StartEvent {
  /** the folder the run is written to while training (<output>.partial, published to the output when it finishes);
   * its metrics.jsonl too */
  dir: string;
  /** continuing from a checkpoint was asked for */
  resume: boolean;
  method: Method;
  /** Date.now() when train() was called: data loading, tokenizing and embedding count as training time */
  startedAt: number;
  trainableParameters: number;
  /** parameters in the base checkpoint's weight files */
  baseParameters: number;
  trainExamples: number;
  devExamples: number;
}

export interface ProgressEvent {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number;
  learningRate: number;
  gradNorm: number;
  tokensPerSecond: number;
  examplesPerSecond: number;
  elapsedMs: number;
  /** examples and real tokens of this step */
  examples: number;
  tokens: number;
}

export interface EvalEvent {
  epoch: number;
  step: number;
  metrics: Metrics;
  best: boolean;
}

export interface TrainResult {
  output: string;
  best?: RunInfo['best'];
  history: RunInfo['history'];
  stopped: boolean;
  steps: number;
  /** a stopped run: the checkpoint it continues from (in <output>.partial), for resume: true / --resume */
  checkpoint?: string;
}

export interface CheckpointEvent {
  dir: string;
  step: number;
}

export interface EmbeddingEvent {
  /** posts embedded so far, of `total` */
  done: number;
  total: number;
}

export interface DoneEvent {
  output: string;
  best?: RunInfo['best'];
  stopped: boolean;
}

/** Every event a Trainer emits, with its payload. */
export interface TrainerEvents {
  /** the model is loaded and the first step is next */
  start: [StartEvent];
  /** after each optimizer step */
  progress: [ProgressEvent];
  /** after each dev-set evaluation */
  eval: [EvalEvent];
  /** a line of information (resumed, embeddings cached, early stopping, ...) */
  log: [string];
  checkpoint: [CheckpointEvent];
  /** base-model download progress */
  download: [ResolveProgress];
  /** embedding method: the frozen model embedding the posts (first run only; later runs read the cache) */
  embedding: [EmbeddingEvent];
  done: [DoneEvent];
}

export type TrainerListener<E extends keyof TrainerEvents> = (...args: TrainerEvents[E]) => void;
