// The trained runs a server answers for: each is a Predictor named by its run folder's name (as `predict` names
// them), the first one answers requests that name no model.
import * as path from 'path';
import {
  Predictor,
  type Explanation,
  type ExplainOptions,
  type Prediction,
  type PredictorOptions,
} from '../predict/predictor';
import { readTestResults } from '../runs/results';
import type { RunInfo, TestResults } from '../runs/schema';
import type { ModelDescription } from './schema';

export type { ModelDescription };

/** What the server needs of a predictor (Predictor has it; tests may pass their own). */
export interface ServedPredictor {
  /** the run folder; its name names the model */
  runFolder(): string;
  /** run.json, once loaded */
  readonly info?: RunInfo;
  /** the run's label set, once loaded */
  readonly labels?: readonly string[];
  load(): Promise<void>;
  predict(texts: string[]): Promise<Prediction[]>;
  explain(text: string, options?: ExplainOptions): Promise<Explanation>;
  dispose(): void;
}

export function predictorsFor(runDirs: readonly string[], options: Omit<PredictorOptions, 'checkpoint'>): Predictor[] {
  return runDirs.map((dir) => new Predictor({ ...options, checkpoint: dir }));
}

/** A run's test result as /v1/models shows it; null without one (or when its file does not read). */
function testOf(dir: string): ModelDescription['test'] {
  let t: TestResults | undefined;
  try {
    t = readTestResults(dir);
  } catch {
    return null;
  }
  return t
    ? { data: t.data.name, count: t.data.count, accuracy: t.metrics.accuracy, macroF1: t.metrics.macroF1 }
    : null;
}

export class ModelPool {
  readonly names: readonly string[];
  private readonly byName = new Map<string, ServedPredictor>();
  private disposed = false;

  constructor(private readonly predictors: readonly ServedPredictor[]) {
    if (predictors.length === 0) throw new Error('no trained run to serve: give at least one run folder');
    this.names = predictors.map((p) => path.basename(p.runFolder()));
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    predictors.forEach((p, i) => {
      const name = this.names[i];
      const other = seen.get(name);
      if (other !== undefined) clashes.push(`${name}: ${other} and ${p.runFolder()}`);
      seen.set(name, p.runFolder());
      this.byName.set(name, p);
    });
    if (clashes.length) {
      throw new Error(
        `models are named by their run folder's name, and these share one (rename or copy a folder):\n  ${clashes.join('\n  ')}`
      );
    }
  }

  get defaultName(): string {
    return this.names[0];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  predictor(name: string): ServedPredictor {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no model named ${JSON.stringify(name)}`);
    return p;
  }

  /** Loads every run, one after the other (they share one compute thread); `loaded` is told each one's time. */
  async load(loaded?: (name: string, seconds: number) => void): Promise<void> {
    for (const [i, p] of this.predictors.entries()) {
      if (this.disposed) return;
      const started = Date.now();
      await p.load();
      // Stopped while this one loaded: Predictor.dispose() frees only what had been loaded when it ran.
      if (this.disposed) {
        p.dispose();
        return;
      }
      loaded?.(this.names[i], (Date.now() - started) / 1000);
    }
  }

  describe(): ModelDescription[] {
    return this.predictors.map((p, i) => {
      const info = p.info;
      const labels = Object.entries(info?.labels ?? {})
        .map(([label, sentiment]) => ({ label: Number(label), sentiment }))
        .sort((a, b) => a.label - b.label);
      return {
        name: this.names[i],
        default: i === 0,
        method: info?.method ?? 'unknown',
        baseModel: info ? (info.baseModel.repoId ?? info.baseModel.spec) : 'unknown',
        labels,
        devAccuracy: info?.best?.metrics.accuracy ?? null,
        maxLength: info?.maxLength ?? 0,
        test: testOf(p.runFolder()),
      };
    });
  }

  /** Frees every predictor (idempotent). */
  dispose(): void {
    this.disposed = true;
    for (const p of this.predictors) p.dispose();
  }
}
