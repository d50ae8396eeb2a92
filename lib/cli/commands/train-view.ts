// How `train` shows the Trainer's events: progress bars and metric rows for people, JSON Lines with --json.
import type { Trainer } from '../../train/trainer';
import type { EvalEvent } from '../../train/events';
import { createProgress, formatBytes, isCI, type Progress } from '../../util/progress';
import { err, out } from '../common';
import { escapeControls } from '../errors';
import { streams } from '../io';

/** True when progress bars redraw one terminal line (util/progress.ts's rule). */
export function progressIsTTY(): boolean {
  return Boolean(streams().stderr.isTTY) && !isCI();
}

/** Clears a progress bar's unfinished line before other output lands on the terminal. */
export function clearProgressLine(): void {
  if (progressIsTTY()) streams().stderr.write('\r\x1b[K');
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`.padStart(7);
// Label names come from a flag or a data file: their control characters are shown, not acted on (an OSC sequence
// would retitle the terminal), and a line break would split the row.
const labelCell = (name: string) => escapeControls(name.replace(/[\t\r\n]+/g, ' '));
export const evalHeader = (labels: readonly string[]) =>
  `${'epoch'.padStart(5)}  ${'step'.padStart(6)}  accuracy  macro-F1  ${labels
    .map(labelCell)
    .map((s) => `P(${s})  R(${s})`)
    .join('  ')}`;

export function evalRow(e: EvalEvent): string {
  const c = e.metrics.perClass;
  const num = (x: number) => x.toFixed(4).padStart(7);
  return (
    `${String(e.epoch).padStart(5)}  ${String(e.step).padStart(6)}  ${pct(e.metrics.accuracy).padStart(8)}  ${pct(e.metrics.macroF1).padStart(8)}` +
    `  ${c.map((k) => `${num(k.precision)}  ${num(k.recall)}`).join('  ')}${e.best ? '  * best' : ''}`
  );
}

export interface TrainView {
  /** steps seen so far (0 until the first optimizer step) */
  readonly steps: number;
  readonly totalSteps: number;
}

/** Wires trainer events to the terminal (or JSON Lines); returns what the SIGINT handler needs to know. */
export function attachTrainView(trainer: Trainer, json: boolean): TrainView {
  const state = { steps: 0, totalSteps: 0 };
  if (json) {
    const emit = (event: string) => (payload: unknown) =>
      out(
        JSON.stringify(typeof payload === 'string' ? { event, message: payload } : { event, ...(payload as object) })
      );
    for (const event of ['eval', 'log', 'checkpoint', 'done', 'download', 'embedding'] as const)
      trainer.on(event, emit(event));
    trainer.on('progress', (p) => {
      state.steps = p.step;
      state.totalSteps = p.totalSteps;
      out(JSON.stringify({ event: 'progress', ...p }));
    });
    return state;
  }

  let download: { file: string; bar: Progress } | undefined;
  trainer.on('download', (d) => {
    if (!download || download.file !== d.file) {
      download?.bar.done();
      download = {
        file: d.file,
        bar: createProgress({ label: d.file, unit: 'bytes', total: d.total, stream: streams().stderr }),
      };
    }
    if (d.total) download.bar.setTotal(d.total);
    download.bar.update(d.downloaded);
    if (d.total && d.downloaded >= d.total) download.bar.done(formatBytes(d.total));
  });

  let embedding: { total: number; last: number; bar: Progress } | undefined;
  trainer.on('embedding', (e) => {
    if (!embedding || embedding.total !== e.total || e.done < embedding.last) {
      embedding?.bar.done();
      embedding = {
        total: e.total,
        last: 0,
        bar: createProgress({ label: 'embedding posts', total: e.total, stream: streams().stderr }),
      };
    }
    embedding.last = e.done;
    embedding.bar.update(e.done);
    if (e.done >= e.total) embedding.bar.done();
  });

  let bar: Progress | undefined;
  trainer.on('progress', (p) => {
    state.steps = p.step;
    state.totalSteps = p.totalSteps;
    bar ??= createProgress({ label: 'train', total: p.totalSteps, stream: streams().stderr });
    const extra =
      `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} lr ${p.learningRate.toExponential(2)} ` +
      `${Math.round(p.tokensPerSecond)} tok/s`;
    bar.update(p.step, extra);
    if (p.step >= p.totalSteps) bar.done();
  });

  let headerShown = false;
  trainer.on('eval', (e) => {
    clearProgressLine();
    if (!headerShown) {
      out(`dev-set evaluation (the best one is kept):\n${evalHeader(e.labels)}`);
      headerShown = true;
    }
    out(evalRow(e));
  });

  trainer.on('log', (line) => {
    clearProgressLine();
    err(escapeControls(line));
  });

  trainer.on('done', () => {
    bar?.done();
  });
  return state;
}
