// Public API of qwen3-native.
export { Qwen3Model } from './qwen3/model';
export { runtimeInfo, cpuPoolStats, resolveDeviceAndDtype, parseDevice } from './qwen3/runtime';
export type { ForwardOptions, EmbedOptions } from './qwen3/model';
export type { LoadOptions, DeviceOption, DTypeOption } from './qwen3/runtime';
export type { RunStats, CpuPoolStats } from './native';
export { createTinyQwen3 } from './qwen3/tiny';
export { Qwen3Tokenizer } from './qwen3/tokenizer';
export type { Qwen3HFConfig } from './qwen3/config';
export * from './qwen3/tokens';
export { NEGATIVE_LABEL_TEXT, POSITIVE_LABEL_TEXT } from './classifier/methods';
export { Trainer } from './train/trainer';
export type { TrainData, LabelledTexts } from './train/data';
export type {
  ProgressEvent,
  EvalEvent,
  CheckpointEvent,
  EmbeddingEvent,
  DoneEvent,
  TrainerEvents,
  TrainResult,
} from './train/events';
export { defaultOutput } from './classifier/methods';
export type { TrainerOptions, LoraOptions } from './train/options';
export type { TrainCallOptions } from './train/schema';
export type { AbortSignalLike } from './util/abort';
export { Predictor, predictionJson } from './predict/predictor';
export { EXPLAIN_DEFAULTS } from './predict/schema';
export { findRuns } from './runs/lookup';
export { TrainingDivergedError } from './train/loop';
export type {
  Explanation,
  ExplainOptions,
  Prediction,
  PredictorOptions,
  PredictCallOptions,
  PredictStreamOptions,
} from './predict/predictor';
export { computeMetrics } from './classifier/metrics';
export type { Metrics, ClassMetrics } from './classifier/metrics';
export { loadLabelledFile, loadTextsFile } from './classifier/data';
export type { LabelledData, TextsData } from './classifier/data';
export { MODEL_SIZES, modelPreset, describePreset } from './qwen3/presets';
export type { ModelSize, ModelPreset } from './qwen3/presets';
export { resolveModel } from './hub/resolve';
export { ModelNotFoundError, ModelDownloadError } from './hub/errors';
export type { ResolveOptions, ResolvedModel } from './hub/resolve';
export { METHODS } from './classifier/methods';
export type { Method } from './classifier/methods';
export { createProgress } from './util/progress';
export { API_KEY_ENV, SERVE_DEFAULTS } from './serve/options';
export type { ServeOptions, LogFormat } from './serve/options';
export type { RunningServer, StartOptions } from './serve/server';
export type { ServedPredictor, ModelDescription } from './serve/models';

import type { ServeOptions } from './serve/options';
import type { RunningServer, StartOptions } from './serve/server';

/**
 * Starts `qwen3-native serve` in this process: listens, loads the runs, answers until stop(). Loaded on first call
 * (fastify and its plugins add ~170 ms to a require of this package otherwise).
 */
export async function startServer(options: ServeOptions, start?: StartOptions): Promise<RunningServer> {
  return (await import('./serve/server')).startServer(options, start);
}
