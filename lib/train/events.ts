// What a Trainer emits: the events' payloads, and its typed event methods. Node's EventEmitter does the work; the
// TrainerEmitter interface is what the package's type declarations show, so they compile without @types/node.
import { EventEmitter } from 'events';
import type { ResolveProgress } from '../hub/api';
import type { Method } from '../classifier/methods';
import type { Metrics } from '../classifier/metrics';
import type { RunInfo } from '../runs/schema';
import type { StepMeasures } from '../runs/history';

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

/** After each optimizer step: what it measured, and where the run stands. */
export interface ProgressEvent extends StepMeasures {
  epochs: number;
  totalSteps: number;
}

export interface EvalEvent {
  epoch: number;
  step: number;
  metrics: Metrics;
  best: boolean;
  /** the run's label set (metrics.perClass[i] is labels[i]) */
  labels: string[];
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
  /** posts embedded so far, of `total` (in a data-parallel run: of this process's share) */
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

/**
 * A Trainer's event methods, typed: on('progress', (p) => p.loss) knows p is a ProgressEvent, and unknown events or
 * fields do not compile. Node's EventEmitter does the work; this interface is what the package's type declarations
 * show, so they compile without @types/node. It has every member of Node's EventEmitter, so that a Trainer is one to
 * TypeScript too: `events.on(trainer, 'progress')` and `events.once(trainer, 'done')` compile.
 */
export interface TrainerEmitter {
  on<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  once<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  off<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  addListener<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  prependListener<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  prependOnceListener<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  removeListener<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): this;
  removeAllListeners(event?: keyof TrainerEvents): this;
  listeners<E extends keyof TrainerEvents>(event: E): TrainerListener<E>[];
  rawListeners<E extends keyof TrainerEvents>(event: E): TrainerListener<E>[];
  listenerCount<E extends keyof TrainerEvents>(event: E, listener?: TrainerListener<E>): number;
  eventNames(): (keyof TrainerEvents)[];
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
  emit<E extends keyof TrainerEvents>(event: E, ...args: TrainerEvents[E]): boolean;
}

export const TypedEmitter = EventEmitter as unknown as new () => TrainerEmitter;
