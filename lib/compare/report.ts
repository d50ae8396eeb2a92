// The comparison as data (report.json) and the facts every rendering shows: the machine it was measured on, the
// settings, and one row of measures per method.
import * as os from 'os';
import { LABEL_TEXTS } from '../classifier/methods';
import { runtimeInfo } from '../qwen3/runtime';
import type { MethodPoint } from './charts';
import type { MethodResult } from './measure';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  libtorch: string;
  threads: number;
  cuda: boolean;
  cpuBf16: boolean;
  /** 1, 5 and 15 minute load averages when the comparison started and ended (other work on the machine) */
  loadAverageStart: number[];
  loadAverageEnd?: number[];
}

export interface CompareSettings {
  train?: string;
  test: string;
  testPosts: number;
  base: string;
  seed?: number;
  epochs?: number;
  maxSamples?: number;
  latencyPosts: number;
  throughputSeconds: number;
  wrongPosts: number;
  device?: string;
  dtype?: string;
}

export interface CompareReport {
  tool: 'qwen3-native compare';
  version: string;
  generatedAt: string;
  seconds: number;
  machine: MachineInfo;
  settings: CompareSettings;
  results: MethodResult[];
}

export function machineInfo(): MachineInfo {
  const r = runtimeInfo();
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    libtorch: r.libtorchVersion,
    threads: r.threads,
    cuda: r.cudaAvailable,
    cpuBf16: r.cpuBf16,
    loadAverageStart: os.loadavg(),
  };
}

// ---- formatting shared by report.md and report.html ----

export const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
export const mb = (bytes: number | null | undefined) =>
  bytes === null || bytes === undefined ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`;
export const fixed = (x: number, digits: number) =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** 1,234 / 12.3 K / 4.57 M / 1.23 B parameters. */
export function count(n: number): string {
  if (n < 10_000) return n.toLocaleString('en-US');
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} K`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)} M`;
  return `${(n / 1e9).toFixed(2)} B`;
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - 60 * m)} s`;
}

/** The summary table: a header and one row of text cells per method. */
export function summaryTable(results: MethodResult[]): { header: string[]; rows: string[][] } {
  const gpu = results.some((r) => r.predict.peakGpuBytes !== null || (r.train?.peakGpuBytes ?? null) !== null);
  const header = [
    'method',
    'run',
    'accuracy',
    'macro-F1',
    ...LABEL_TEXTS.flatMap((t) => [`P(${t})`, `R(${t})`]),
    'train time',
    'trainable params',
    'total params',
    'peak RSS train',
    'peak RSS predict',
    ...(gpu ? ['peak GPU train', 'peak GPU predict'] : []),
    'posts/s',
    'p50 ms',
    'p95 ms',
    'run folder',
  ];
  const rows = results.map((r) => {
    const t = r.train;
    return [
      r.method,
      r.name,
      pct(r.metrics.accuracy),
      pct(r.metrics.macroF1),
      ...r.metrics.perClass.flatMap((c) => [c.precision.toFixed(3), c.recall.toFixed(3)]),
      t ? duration(t.trainSeconds) : 'not recorded',
      t ? count(t.trainableParameters) : 'not recorded',
      t ? count(t.totalParameters) : 'not recorded',
      t ? mb(t.peakRssBytes) : 'not recorded',
      mb(r.predict.peakRssBytes),
      ...(gpu ? [mb(t?.peakGpuBytes), mb(r.predict.peakGpuBytes)] : []),
      fixed(r.predict.postsPerSecond, 1),
      r.predict.latencyMs.p50.toFixed(2),
      r.predict.latencyMs.p95.toFixed(2),
      mb(r.runFolderBytes),
    ];
  });
  return { header, rows };
}

/** Per-class precision/recall/F1/support of one method. */
export function classTable(r: MethodResult): { header: string[]; rows: string[][] } {
  return {
    header: ['class', 'precision', 'recall', 'F1', 'support'],
    rows: r.metrics.perClass.map((c) => [
      `${c.label} ${LABEL_TEXTS[c.label] ?? ''}`,
      c.precision.toFixed(4),
      c.recall.toFixed(4),
      c.f1.toFixed(4),
      String(c.support),
    ]),
  };
}

/** Confusion matrix: rows true label, columns predicted. */
export function confusionTable(r: MethodResult): { header: string[]; rows: string[][] } {
  return {
    header: ['true \\ predicted', ...r.metrics.confusion.map((_, p) => `${p} ${LABEL_TEXTS[p] ?? ''}`)],
    rows: r.metrics.confusion.map((row, t) => [`${t} ${LABEL_TEXTS[t] ?? ''}`, ...row.map(String)]),
  };
}

/** The numbers the charts plot, one point per method. */
export function chartPoints(results: MethodResult[]): MethodPoint[] {
  return results.map((r) => ({
    method: r.name === r.method ? r.method : `${r.method} (${r.name})`,
    accuracy: r.metrics.accuracy,
    postsPerSecond: r.predict.postsPerSecond,
    trainSeconds: r.train ? r.train.trainSeconds : null,
    latencyP50: r.predict.latencyMs.p50,
    latencyP95: r.predict.latencyMs.p95,
    trainRssMB: r.train ? r.train.peakRssBytes / 1e6 : null,
    predictRssMB: r.predict.peakRssBytes / 1e6,
  }));
}

/** How each number was measured, for both renderings. */
export function methodNotes(report: CompareReport): string[] {
  const s = report.settings;
  const trained = report.results.some((r) => r.train?.source === 'measured now');
  return [
    `Every method was ${trained ? 'trained and ' : ''}measured in one process, one after the other, on this machine; ` +
      `the same test file (${s.testPosts} posts)${trained ? `, the same training file, dev split and seed (${s.seed ?? 'default'})` : ''}.`,
    'accuracy, macro-F1, P/R: the best checkpoint (by dev accuracy) on the test file.',
    'train time: from loading the data to the end of training (tokenizing, computing embeddings for the embedding ' +
      'method, every step and evaluation, saving).',
    'peak RSS: the process peak resident memory during the phase (Linux VmHWM, reset before each phase); it includes ' +
      'what the process already held (node, the tokenizer, memory an earlier phase freed but the allocator kept).',
    `posts/s: the whole test file predicted in the Predictor's batches, repeated for at least ${s.throughputSeconds} s. ` +
      `p50/p95: one post per call, the first ${s.latencyPosts} posts, after a warm-up.`,
    'run folder: the files serving the run needs besides its base model (checkpoint/ excluded).',
  ];
}
