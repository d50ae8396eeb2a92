// Measuring one method: training it (or reading what its run recorded), then predicting the test file with the
// trained run in this process: accuracy and per-class scores, throughput, one-post latency, peak memory of each
// phase (the process's peak is reset before each, Linux), and the size of the run folder.
import * as fs from 'fs';
import * as path from 'path';
import type { LabelledData } from '../classifier/data';
import type { Method } from '../classifier/methods';
import { computeMetrics, type Metrics } from '../classifier/metrics';
import { Predictor } from '../predict/predictor';
import { readRunHistory, type HistoryRecord } from '../runs/history';
import { readRunInfo } from '../runs/folder';
import type { RunTotals } from '../runs/schema';
import { Trainer } from '../train/trainer';
import type { ProgressEvent } from '../train/events';
import type { TrainerOptions } from '../train/options';
import { peakGpuMemory } from '../qwen3/runtime';
import { currentRss, peakRss, resetPeakRss } from '../util/memory';
import { wrongPostsOf, type WrongPosts } from './wrong';

export interface TrainMeasures extends RunTotals {
  /** 'measured now' (trained by this compare) or 'run.json' (an existing run's own record) */
  source: 'measured now' | 'run.json';
  /** resident memory when training began (what the process held already; part of the peak) */
  startRssBytes: number | null;
}

export interface PredictMeasures {
  loadSeconds: number;
  /** posts per second predicting the whole test file in the Predictor's batches */
  postsPerSecond: number;
  /** milliseconds for one post predicted alone: median and 95th percentile (nearest rank) */
  latencyMs: { p50: number; p95: number; samples: number };
  peakRssBytes: number;
  /** resident memory before the run was loaded */
  startRssBytes: number;
  peakGpuBytes: number | null;
}

export interface MethodResult {
  method: Method;
  /** the run folder's name and path */
  name: string;
  run: string;
  /** the base model the run was trained on, as named */
  base: string;
  metrics: Metrics;
  train?: TrainMeasures;
  predict: PredictMeasures;
  /** bytes of the run folder without checkpoint/ (what serving it needs besides the base model) */
  runFolderBytes: number;
  history: HistoryRecord[];
  /** the dev posts (else test posts) it got most confidently wrong, explained */
  wrong: WrongPosts;
}

/** Bytes of every file under `dir`, without the resumable checkpoint folders. */
export function runFolderBytes(dir: string): number {
  let n = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('checkpoint')) n += runFolderBytes(p);
    } else if (entry.isFile()) {
      n += fs.statSync(p).size;
    }
  }
  return n;
}

/** Nearest-rank percentile of `values` (0 < q <= 1). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** Trains one method into `options.output` and returns what its run recorded about the training. */
export async function trainMethod(
  options: TrainerOptions & { output: string },
  train: string,
  on: { progress?: (p: ProgressEvent) => void; log?: (line: string) => void } = {}
): Promise<TrainMeasures> {
  resetPeakRss();
  peakGpuMemory(true);
  const startRssBytes = currentRss();
  const trainer = new Trainer(options);
  if (on.progress) trainer.on('progress', on.progress);
  if (on.log) trainer.on('log', on.log);
  await trainer.train(train);
  const totals = readRunInfo(options.output).totals;
  if (!totals) throw new Error(`${options.output}/run.json has no totals after training`);
  return { ...totals, source: 'measured now', startRssBytes };
}

/** The training totals an existing run recorded (undefined for runs trained before runs recorded them). */
export function recordedTraining(run: string): TrainMeasures | undefined {
  const totals = readRunInfo(run).totals;
  return totals ? { ...totals, source: 'run.json', startRssBytes: null } : undefined;
}

export interface PredictSettings {
  device?: TrainerOptions['device'];
  dtype?: TrainerOptions['dtype'];
  offline?: boolean;
  latencyPosts: number;
  throughputSeconds: number;
  wrongPosts: number;
}

/** Loads the run and measures it on the test data. */
export async function measurePrediction(
  run: string,
  test: LabelledData,
  s: PredictSettings
): Promise<{ metrics: Metrics; predict: PredictMeasures; wrong: WrongPosts }> {
  resetPeakRss();
  peakGpuMemory(true);
  const startRssBytes = currentRss();
  const predictor = new Predictor({ checkpoint: run, device: s.device, dtype: s.dtype, offline: s.offline });
  try {
    let t = process.hrtime.bigint();
    await predictor.load();
    const loadSeconds = seconds(t);
    // Warm-up: the first calls allocate, and the prompt (lora) is cached then.
    await predictor.predict(test.texts.slice(0, Math.min(8, test.texts.length)));
    await predictor.predict(test.texts[0]);

    t = process.hrtime.bigint();
    const predictions = await predictor.predict(test.texts);
    let posts = test.texts.length;
    while (seconds(t) < s.throughputSeconds) {
      await predictor.predict(test.texts);
      posts += test.texts.length;
    }
    const postsPerSecond = posts / seconds(t);
    const metrics = computeMetrics(
      test.labels,
      predictions.map((p) => p.label)
    );

    const latencies: number[] = [];
    for (const text of test.texts.slice(0, s.latencyPosts)) {
      t = process.hrtime.bigint();
      await predictor.predict(text);
      latencies.push(seconds(t) * 1000);
    }
    // After the timings: explaining runs backward passes, whose memory is not prediction's.
    const peakRssBytes = peakRss();
    const peakGpuBytes = peakGpuMemory();
    const wrong = await wrongPostsOf(predictor, run, s.wrongPosts, {
      name: `test posts of ${path.basename(test.source ?? 'the test file')}`,
      data: test,
      predictions,
    });
    return {
      metrics,
      wrong,
      predict: {
        loadSeconds,
        postsPerSecond,
        latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), samples: latencies.length },
        peakRssBytes,
        startRssBytes,
        peakGpuBytes,
      },
    };
  } finally {
    predictor.dispose();
  }
}

/** Everything the report shows about one run: its training record, the test measures, its size and curves. */
export async function measureRun(
  run: string,
  test: LabelledData,
  s: PredictSettings,
  train?: TrainMeasures
): Promise<MethodResult> {
  const info = readRunInfo(run);
  const { metrics, predict, wrong } = await measurePrediction(run, test, s);
  return {
    method: info.method,
    name: path.basename(run),
    run,
    base: info.baseModel.repoId ?? info.baseModel.spec,
    metrics,
    train: train ?? recordedTraining(run),
    predict,
    runFolderBytes: runFolderBytes(run),
    history: readRunHistory(run),
    wrong,
  };
}
