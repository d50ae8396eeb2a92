// Opening trained runs for predict and eval. With --load-all a run that cannot be loaded (its base model is
// missing, its run.json is damaged, it is an old pickled head) is skipped with a one-line note naming it and why,
// as the old predict_universal.py skipped it; only when no run loads is it an error.
import * as path from 'path';
import { Predictor } from '../predict/predictor';
import { firstLine } from '../runs/folder';
import { findRuns } from '../runs/lookup';
import { displayPath } from '../util/paths';
import type { Flags } from './args';
import { err, type CommonSettings } from './common';
import { CliError, EXIT } from './errors';
import { tinyNote } from './select';

export interface OpenOptions {
  settings: CommonSettings;
  batchSize?: number;
  /** skip (with a note) a run that fails to load, instead of failing */
  skipUnloadable: boolean;
  /** the tiny-model note was printed already */
  tinyNoted?: { done: boolean };
}

/** A loaded Predictor for `dir`, or undefined (after a note) when it fails and skipping is allowed. */
export async function openRun(dir: string, o: OpenOptions): Promise<Predictor | undefined> {
  const s = o.settings;
  const predictor = new Predictor({
    checkpoint: dir,
    model: s.model,
    device: s.device,
    dtype: s.dtype,
    offline: s.offline,
    batchSize: o.batchSize,
  });
  try {
    await predictor.load();
  } catch (e) {
    predictor.dispose();
    if (!o.skipUnloadable) throw e;
    err(`note: skipping ${displayPath(dir)}: ${firstLine(e)}`);
    return undefined;
  }
  const noted = o.tinyNoted ?? { done: false };
  const note = tinyNote(predictor.info?.baseModel.spec, predictor.info?.method);
  if (!noted.done && note) {
    err(note);
    noted.done = true;
  }
  return predictor;
}

/** Loads every run (one at a time); with skipUnloadable at least one must load. */
export async function openRuns(runs: string[], o: OpenOptions): Promise<Predictor[]> {
  const loaded: Predictor[] = [];
  const tinyNoted = o.tinyNoted ?? { done: false };
  try {
    for (const dir of runs) {
      const p = await openRun(dir, { ...o, tinyNoted });
      if (p) loaded.push(p);
    }
  } catch (e) {
    for (const p of loaded) p.dispose();
    throw e;
  }
  if (loaded.length === 0 && runs.length > 0) {
    throw new CliError(
      `none of the ${runs.length} run(s) under ${displayPath(path.dirname(runs[0]))} could be loaded (see the notes above)`,
      EXIT.failure
    );
  }
  return loaded;
}

/** --load-all (which --checkpoint excludes): every trained run under --models-dir, or an error when there is none. */
export function loadAllRuns(flags: Flags): string[] {
  if (flags.list('checkpoint').length)
    throw new CliError(`--load-all and ${flags.spelling('checkpoint')} exclude each other`);
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');
  const runs = findRuns(modelsDir);
  if (!runs.length)
    throw new CliError(
      `--load-all: no trained run under ${displayPath(modelsDir)}; train one with \`qwen3-native train\``,
      EXIT.failure
    );
  return runs;
}
