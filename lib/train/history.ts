// Every run records its own history: a listener on the Trainer's events appends one JSON line per optimizer step
// ("progress") and per dev evaluation ("eval") to <run folder>/metrics.jsonl (runs/history.ts), and when training
// ends adds the totals (time, parameters, peak memory, examples seen) to run.json (the data's fingerprint is the
// Trainer's own: run.json `data`) and writes the model card (README.md) from it.
import * as fs from 'fs';
import * as path from 'path';
import { peakGpuMemory } from '../qwen3/runtime';
import { readSafetensorsHeader } from '../qwen3/safetensors';
import { writeJsonAtomic } from '../util/atomic-write';
import { readJsonObject } from '../util/json-file';
import { peakRss } from '../util/memory';
import { RunInfoSchema, type RunTotals } from '../runs/schema';
import { writeModelCard } from '../runs/results';
import { METRICS_FILE, readRunHistory, type HistoryRecord, type MemoryFields } from '../runs/history';
import type { EvalEvent, StartEvent, TrainerEvents, TrainerListener } from './events';

/** Parameters stored in safetensors files (from their headers only). */
export async function countParameters(files: readonly string[]): Promise<number> {
  let n = 0;
  for (const file of files) {
    const header = await readSafetensorsHeader(file);
    for (const key of header.keys) n += header.tensors[key].shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

interface Emitter {
  on<E extends keyof TrainerEvents>(event: E, listener: TrainerListener<E>): unknown;
}

/** Subscribes to a Trainer: metrics.jsonl while it trains, totals in run.json when it is done. */
export function attachRunHistory(trainer: Emitter): void {
  let run: StartEvent | undefined;
  let previous: RunTotals | undefined;
  let file = '';
  let started = 0;
  let truncated = false;
  const seen = { steps: 0, examples: 0, tokens: 0 };
  const memory = (): MemoryFields => ({ peakRssBytes: peakRss(), peakGpuBytes: peakGpuMemory() });
  const append = (record: HistoryRecord) => fs.appendFileSync(file, `${JSON.stringify(record)}\n`);

  trainer.on('start', (e) => {
    run = e;
    started = Date.now();
    file = path.join(e.dir, METRICS_FILE);
    truncated = false;
    seen.steps = seen.examples = seen.tokens = 0;
    fs.mkdirSync(e.dir, { recursive: true });
    if (!e.resume) fs.writeFileSync(file, '');
    // A resumed run adds this session's work to what the earlier sessions recorded (run.json is rewritten from the
    // checkpoint's copy, which has no totals, before 'done').
    const runJson = path.join(e.dir, 'run.json');
    previous =
      e.resume && fs.existsSync(runJson)
        ? readJsonObject(runJson, 'resume from a checkpoint with a readable run.json', RunInfoSchema).totals
        : undefined;
  });

  trainer.on('progress', (p) => {
    if (!run) return;
    if (!truncated) {
      // A resumed run repeats the steps after its checkpoint: the lines it will write again go.
      const kept = readRunHistory(run.dir).filter((r) => r.step < p.step);
      fs.writeFileSync(file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
      truncated = true;
    }
    seen.steps++;
    seen.examples += p.examples;
    seen.tokens += p.tokens;
    const { epochs: _epochs, totalSteps: _total, ...fields } = p;
    append({ type: 'progress', ...fields, ...memory() });
  });

  trainer.on('eval', (e: EvalEvent) => {
    if (!run) return;
    append({
      type: 'eval',
      epoch: e.epoch,
      step: e.step,
      best: e.best,
      accuracy: e.metrics.accuracy,
      macroF1: e.metrics.macroF1,
      metrics: e.metrics,
      elapsedMs: Date.now() - started,
      ...memory(),
    });
  });

  trainer.on('done', (d) => {
    if (!run) return;
    // A finished run was published from its working folder to the output; a stopped one stays where it trains.
    const runJson = path.join(d.stopped ? run.dir : d.output, 'run.json');
    if (!fs.existsSync(runJson)) return;
    const info = readJsonObject(runJson, 'the run was just written by this Trainer', RunInfoSchema);
    const before = previous;
    const gpu = peakGpuMemory();
    const totals: RunTotals = {
      trainSeconds: (Date.now() - run.startedAt) / 1000 + (before?.trainSeconds ?? 0),
      steps: seen.steps + (before?.steps ?? 0),
      examplesSeen: seen.examples + (before?.examplesSeen ?? 0),
      tokensSeen: seen.tokens + (before?.tokensSeen ?? 0),
      trainableParameters: run.trainableParameters,
      totalParameters: run.method === 'full' ? run.trainableParameters : run.baseParameters + run.trainableParameters,
      peakRssBytes: Math.max(peakRss(), before?.peakRssBytes ?? 0),
      peakGpuBytes: gpu === null ? null : Math.max(gpu, before?.peakGpuBytes ?? 0),
    };
    writeJsonAtomic(runJson, { ...info, totals });
    writeModelCard(path.dirname(runJson));
    run = undefined;
  });
}
