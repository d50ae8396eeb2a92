// Settings and data compared field by field, where two must match: a checkpoint and the run resuming it, the ranks of
// one data-parallel run. Both refusals name each field that differs, with both values, instead of two JSON lines to
// compare by eye.
import type { DataFingerprint } from '../runs/schema';
import { type Difference } from '../util/differences';
import { resumeFingerprint, type ResolvedTrainerOptions } from './options';

const shown = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));

/** A checkpoint trained with other settings than the run that would resume it. */
export class ResumeMismatchError extends Error {
  constructor(
    readonly checkpoint: string,
    readonly differences: Difference[]
  ) {
    const lines = differences.map(
      (d) =>
        `  ${d.field}: ${shown(d.a)} in the checkpoint, ${shown(d.b)} now` +
        (d.field === 'batchSize' ? ' (the global batch: batchSize per process times the processes)' : '')
    );
    super(
      `cannot resume from ${checkpoint}: it was trained with other settings.\n${lines.join('\n')}\n` +
        "Resume with the checkpoint's settings, or train from scratch (without resume)."
    );
    this.name = 'ResumeMismatchError';
  }
}

/** What must be the same on every rank of a data-parallel run: the settings that shape the steps, and the data. */
export function rankFingerprint(
  o: ResolvedTrainerOptions,
  data: { train: DataFingerprint; eval?: DataFingerprint }
): Record<string, unknown> {
  // The data's name (a file's path) may differ from machine to machine; its content may not.
  const content = (d?: DataFingerprint) => (d ? { count: d.count, sha256: d.sha256 } : null);
  return {
    ...resumeFingerprint(o),
    prompt: o.prompt ?? null,
    instruction: o.instruction ?? null,
    dtype: o.dtype,
    maxGradNorm: o.maxGradNorm,
    evalSteps: o.evalSteps ?? null,
    saveSteps: o.saveSteps ?? null,
    earlyStoppingPatience: o.earlyStoppingPatience,
    bestMetric: o.bestMetric,
    resume: o.resume,
    data: { train: content(data.train), eval: content(data.eval) },
  };
}
