// A run's history, <run folder>/metrics.jsonl: one JSON line per optimizer step ("progress") and per dev evaluation
// ("eval"), written while it trains (train/history.ts). `qwen3-native report` and `qwen3-native compare` draw their
// curves from it.
import * as fs from 'fs';
import * as path from 'path';
import type { Metrics } from '../classifier/metrics';

export const METRICS_FILE = 'metrics.jsonl';
/** `qwen3-native report <run>` draws the history into this file of the run folder. */
export const RUN_REPORT_FILE = 'report.html';

/** Memory columns every line carries. */
export interface MemoryFields {
  /** process peak resident memory so far (VmHWM), bytes */
  peakRssBytes: number;
  /** CUDA peak allocated bytes, null without CUDA */
  peakGpuBytes: number | null;
}

/** What one optimizer step measured (the Trainer's 'progress' event adds the run's epochs and total steps). */
export interface StepMeasures {
  epoch: number;
  step: number;
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

export type ProgressRecord = { type: 'progress' } & StepMeasures & MemoryFields;
export type EvalRecord = {
  type: 'eval';
  epoch: number;
  step: number;
  best: boolean;
  accuracy: number;
  macroF1: number;
  metrics: Metrics;
  elapsedMs: number;
} & MemoryFields;
export type HistoryRecord = ProgressRecord | EvalRecord;

/** The lines of a run's metrics.jsonl ([] when it has none); a torn last line (a crash mid-write) is skipped. */
export function readRunHistory(dir: string): HistoryRecord[] {
  const file = path.join(dir, METRICS_FILE);
  if (!fs.existsSync(file)) return [];
  const out: HistoryRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as HistoryRecord);
    } catch {
      // only the last line can be torn; every complete line before it is kept
    }
  }
  return out;
}
