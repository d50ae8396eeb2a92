// `qwen3-native compare`: trains each method on the same data, split and seed (or takes existing runs), measures every
// one in this process on the same test file, and writes report.md, report.json and report.html.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadLabelledFile } from '../classifier/data';
import type { Method } from '../classifier/methods';
import type { ProgressEvent } from '../train/events';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write';
import { packageVersion } from '../util/paths';
import { measureRun, trainMethod, type MethodResult } from './measure';
import { resolveCompareOptions, type CompareOptions } from './options';
import { requireChartLibraries } from './charts';
import { renderHtml, renderMarkdown } from './render';
import { machineInfo, type CompareReport } from './report';

export interface CompareListener {
  /** a phase of one method begins */
  phase?: (what: { method: Method | string; phase: 'train' | 'predict'; index: number; of: number }) => void;
  progress?: (method: Method, p: ProgressEvent) => void;
  log?: (line: string) => void;
  /** one method's measures are complete */
  result?: (r: MethodResult) => void;
}

export interface CompareOutput {
  report: CompareReport;
  files: { markdown: string; json: string; html: string };
}

export const REPORT_FILES = { markdown: 'report.md', json: 'report.json', html: 'report.html' } as const;

export async function runCompare(
  options: CompareOptions,
  on: CompareListener = {},
  optionName?: (option: string) => string
): Promise<CompareOutput> {
  const o = resolveCompareOptions(options, optionName);
  requireChartLibraries();
  const started = Date.now();
  const machine = machineInfo();
  const test = await loadLabelledFile(o.test);
  const settings = {
    device: o.device,
    dtype: o.dtype,
    offline: o.offline,
    latencyPosts: o.latencyPosts,
    throughputSeconds: o.throughputSeconds,
    wrongPosts: o.wrongPosts,
  };
  fs.mkdirSync(o.out, { recursive: true });
  const results: MethodResult[] = [];
  const of = o.plan.length + o.runs.length;
  for (const [index, p] of o.plan.entries()) {
    on.phase?.({ method: p.method, phase: 'train', index, of });
    const train = await trainMethod(
      {
        method: p.method,
        model: p.model,
        modelSize: p.modelSize,
        output: p.output,
        seed: o.seed,
        epochs: o.epochs,
        maxSamples: o.maxSamples,
        device: o.device,
        dtype: o.dtype,
        offline: o.offline,
      },
      o.train!,
      { progress: (e) => on.progress?.(p.method, e), log: on.log }
    );
    on.phase?.({ method: p.method, phase: 'predict', index, of });
    const r = await measureRun(p.output, test, settings, train);
    results.push(r);
    on.result?.(r);
  }
  for (const [i, run] of o.runs.entries()) {
    on.phase?.({ method: path.basename(run), phase: 'predict', index: o.plan.length + i, of });
    const r = await measureRun(run, test, settings);
    results.push(r);
    on.result?.(r);
  }
  const report: CompareReport = {
    tool: 'qwen3-native compare',
    version: packageVersion(),
    generatedAt: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    machine: { ...machine, loadAverageEnd: os.loadavg() },
    settings: {
      train: o.train,
      test: o.test,
      testPosts: test.texts.length,
      base: o.base,
      seed: o.seed,
      epochs: o.epochs,
      maxSamples: o.maxSamples,
      latencyPosts: o.latencyPosts,
      throughputSeconds: o.throughputSeconds,
      wrongPosts: o.wrongPosts,
      device: o.device,
      dtype: o.dtype,
    },
    results,
  };
  const files = {
    markdown: path.join(o.out, REPORT_FILES.markdown),
    json: path.join(o.out, REPORT_FILES.json),
    html: path.join(o.out, REPORT_FILES.html),
  };
  writeJsonAtomic(files.json, report);
  writeFileAtomic(files.markdown, renderMarkdown(report));
  writeFileAtomic(files.html, await renderHtml(report));
  return { report, files };
}
