// `qwen3-native eval` (and `train --eval-only`): metrics of trained run(s) on a labelled file.
import * as path from 'path';
import { loadLabelledFile } from '../../classifier/data';
import { DEFAULT_LABELS, describeLabels, type LabelSet } from '../../classifier/labels';
import { computeMetrics, type Metrics } from '../../classifier/metrics';
import { sliceSample } from '../../train/split';
import { fingerprintData, type LabelledTexts } from '../../train/data';
import type { DataFingerprint } from '../../runs/schema';
import { Flags } from '../args';
import { commonSettings, err, existingFile, noPositionals, out, predictAll, type CommonSettings } from '../common';
import { CliError, EXIT } from '../errors';
import { defaultIo, type Io } from '../prompt';
import { formatComparison, formatMetrics, metricsJson } from '../output';
import { openRun } from '../runs';
import { chooseRuns } from '../select';

export interface EvalTarget {
  runs: string[];
  /** the test file, or the name of testData */
  test: string;
  /** in-memory test data (train's test split of the old scripts' CSV) */
  testData?: LabelledTexts;
  /** --load-all: skip a run that cannot be loaded, with a note */
  skipUnloadable?: boolean;
  maxSamples?: number;
  seed?: number;
  batchSize?: number;
  settings: CommonSettings;
  /** with --json, an "event" key for each object (train's final test: 'test') */
  jsonEvent?: string;
  /** the caller already printed the tiny-model note */
  tinyNoted?: boolean;
}

export interface EvalResult {
  model: string;
  runDir: string;
  metrics: Metrics;
  /** the run's label set */
  labels: LabelSet;
  /** the test data as read with that label set */
  data: DataFingerprint;
}

/** Evaluates each run on the test file; prints tables (or JSON Lines) and returns the metrics. */
export async function evaluateRuns(t: EvalTarget): Promise<EvalResult[]> {
  // The test file read with each run's label set (ids or names of that set), once per set.
  const loaded = new Map<string, Promise<LabelledTexts>>();
  const dataFor = (labels: LabelSet): Promise<LabelledTexts> => {
    const key = JSON.stringify(labels);
    if (!loaded.has(key))
      loaded.set(
        key,
        (async () => {
          const data = t.testData ?? (await loadLabelledFile(t.test, { labels }));
          const wanted = t.maxSamples;
          return wanted !== undefined && wanted < data.texts.length ? sliceSample(data, wanted, t.seed ?? 42) : data;
        })()
      );
    return loaded.get(key)!;
  };
  const results: EvalResult[] = [];
  const tinyNoted = { done: t.tinyNoted ?? false };
  const s = t.settings;
  for (const dir of t.runs) {
    // One run in memory at a time.
    const predictor = await openRun(dir, {
      settings: s,
      batchSize: t.batchSize,
      skipUnloadable: t.skipUnloadable ?? false,
      tinyNoted,
    });
    if (!predictor) continue;
    try {
      await predictor.load();
      const labels = predictor.labels ?? DEFAULT_LABELS;
      let data: LabelledTexts;
      try {
        data = await dataFor(labels);
      } catch (e) {
        // --load-all over runs of different label sets: a run whose set the file's labels are not in is skipped.
        if (!t.skipUnloadable || t.testData) throw e;
        err(
          `skipping ${predictor.name}: its labels (${describeLabels(labels)}) do not read ${t.test}: ${(e as Error).message.split('\n').slice(0, 2).join(' ').replace(/\s+/g, ' ')}`
        );
        continue;
      }
      const predictions = await predictAll(predictor, data.texts, `eval ${predictor.name}`, true);
      const metrics = computeMetrics(
        data.labels,
        predictions.map((p) => p.label),
        labels.length
      );
      const result = { model: predictor.name, runDir: dir, metrics, labels, data: fingerprintData(data, t.test) };
      results.push(result);
      if (s.json)
        out(
          JSON.stringify({
            ...(t.jsonEvent ? { event: t.jsonEvent } : {}),
            ...metricsJson(result.model, dir, t.test, metrics, labels),
          })
        );
      else out(`${formatMetrics(metrics, `${result.model} on ${t.test}`, labels)}\n`);
    } finally {
      predictor.dispose();
    }
  }
  if (results.length === 0 && t.runs.length > 0)
    throw new CliError(`none of the ${t.runs.length} run(s) could be loaded (see the notes above)`, EXIT.failure);
  if (!t.settings.json && results.length > 1) out(formatComparison(results));
  return results;
}

export async function runEval(flags: Flags, positionals: string[], io: Io = defaultIo()): Promise<number> {
  noPositionals(positionals, 'eval');
  const settings = commonSettings(flags, 'eval');
  const test = existingFile(flags, 'test');
  const batchSize = flags.positiveInt('batch-size');
  const maxSamples = flags.positiveInt('max-samples');
  const seed = flags.nonNegativeInt('seed');
  const loadAll = flags.bool('load-all');
  if (loadAll && settings.run)
    throw new CliError(`--load-all and ${settings.runFlag ?? '--checkpoint'} exclude each other`);
  if (!test)
    throw new CliError('--test is required: a labelled file (text<TAB>label lines, CSV label,review, or JSONL)');
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');
  const runs = await chooseRuns(io, { ...settings, modelsDir, loadAll });
  await evaluateRuns({ runs, test, maxSamples, seed, batchSize, settings, skipUnloadable: loadAll });
  return 0;
}
