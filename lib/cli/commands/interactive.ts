// predict's prompt loop: one post a line, classified by the loaded run(s), plus the old predict_universal.py's
// commands, which are never classified as posts: models (list the runs), switch (use another run), compare (one
// post, every run side by side). q, exit, quit or Ctrl-D end it; an empty line is skipped.
import * as path from 'path';
import { averagePredictions } from '../../predict/ensemble';
import { DEFAULT_LABELS, sameLabels } from '../../classifier/labels';
import type { Prediction, Predictor } from '../../predict/predictor';
import { isPickledFile } from '../../runs/folder';
import { findRuns } from '../../runs/lookup';
import { displayPath } from '../../util/paths';
import { err } from '../common';
import { formatChoices, promptLoop, PROMPT_KEYS, type Io, type LineReader } from '../prompt';
import type { Row } from '../output';
import { openRun, type OpenOptions } from '../runs';
import { readRun, runChoices } from '../select';

export const LOOP_COMMANDS = 'models (the runs in use), switch (use another run), compare (one post, every run)';

export interface LoopContext {
  io: Io;
  predictors: Predictor[];
  modelsDir: string;
  ensemble: boolean;
  open: OpenOptions;
  print(rows: Prediction[]): void;
}

/** The runs a loop may switch to or compare: every run under the models folder that is not a pickled file. */
function candidateRuns(modelsDir: string): string[] {
  return findRuns(modelsDir).filter((dir) => !isPickledFile(dir));
}

async function classify(ctx: LoopContext, text: string): Promise<void> {
  const perRun: Prediction[][] = [];
  for (const p of ctx.predictors) perRun.push([await p.predict(text)]);
  const sets = ctx.predictors.map((p) => p.labels ?? DEFAULT_LABELS);
  const rows = perRun.map((r, i) => r.map((p) => ({ ...p, labels: sets[i] })));
  // An ensemble averages runs of one label set; runs of different sets are shown one by one.
  const oneSet = sets.every((l) => sameLabels(l, sets[0]));
  if (ctx.ensemble && perRun.length > 1 && oneSet)
    ctx.print(averagePredictions(perRun, sets[0]).map((p) => ({ ...p, labels: sets[0] })));
  else ctx.print(rows.flat());
}

function listModels(ctx: LoopContext): void {
  err(`in use${ctx.ensemble && ctx.predictors.length > 1 ? ' (as an ensemble)' : ''}:`);
  err(formatChoices(runChoices(ctx.predictors.map((p) => readRun(p.runFolder())))));
}

async function switchRun(ctx: LoopContext, reader: LineReader, pool: Map<string, Predictor>): Promise<void> {
  const runs = candidateRuns(ctx.modelsDir);
  if (runs.length === 0) {
    err(`no trained runs under ${displayPath(ctx.modelsDir)} to switch to`);
    return;
  }
  const choices = runChoices(runs.map(readRun));
  err(`runs under ${displayPath(ctx.modelsDir)}:\n${formatChoices(choices, true)}`);
  const answer = (await reader.ask(`choose 1-${choices.length}: `))?.trim() ?? '';
  const n = Number(answer);
  const chosen =
    Number.isInteger(n) && n >= 1 && n <= choices.length
      ? choices[n - 1]
      : choices.find((c) => [c.name, path.basename(c.value)].some((n) => n.toLowerCase() === answer.toLowerCase()));
  if (!chosen) {
    err(`"${answer}" is not one of the runs; still using ${ctx.predictors.map((p) => p.name).join(', ')}`);
    return;
  }
  const next = pool.get(chosen.value) ?? (await openRun(chosen.value, { ...ctx.open, skipUnloadable: true }));
  if (!next) return;
  for (const p of ctx.predictors) {
    if (p === next) continue;
    pool.delete(p.runFolder());
    p.dispose();
  }
  ctx.predictors.splice(0, ctx.predictors.length, next);
  err(`now using ${next.name}`);
}

async function compare(
  ctx: LoopContext,
  reader: LineReader,
  inline: string,
  pool: Map<string, Predictor>,
  unloadable: Set<string>
) {
  const text = inline || ((await reader.ask('post to compare> ')) ?? '').trim();
  if (!text) return;
  for (const p of ctx.predictors) pool.set(p.runFolder(), p);
  for (const dir of candidateRuns(ctx.modelsDir)) {
    if (pool.has(dir) || unloadable.has(dir)) continue;
    const p = await openRun(dir, { ...ctx.open, skipUnloadable: true });
    if (p) pool.set(dir, p);
    else unloadable.add(dir); // noted once
  }
  const rows: Row[] = [];
  for (const p of pool.values()) rows.push({ ...(await p.predict(text)), labels: p.labels });
  ctx.print(rows);
}

/** Runs the loop until q / exit / quit / Ctrl-D; the caller disposes ctx.predictors afterwards. */
export async function interactiveLoop(ctx: LoopContext): Promise<void> {
  err(
    `model${ctx.predictors.length > 1 ? 's' : ''}: ${ctx.predictors.map((p) => p.name).join(', ')}. Type a post and ` +
      `press Enter (${PROMPT_KEYS}). Commands: ${LOOP_COMMANDS}.`
  );
  // Runs compare loaded beyond those in use, kept for the next compare.
  const pool = new Map<string, Predictor>();
  const unloadable = new Set<string>();
  try {
    await promptLoop(ctx.io, '微博> ', async (line, reader) => {
      const [word, ...rest] = line.split(/\s+/);
      const command = word.toLowerCase();
      if (command === 'models' && rest.length === 0) listModels(ctx);
      else if (command === 'switch' && rest.length === 0) await switchRun(ctx, reader, pool);
      else if (command === 'compare') await compare(ctx, reader, rest.join(' '), pool, unloadable);
      else await classify(ctx, line);
    });
  } finally {
    for (const p of pool.values()) if (!ctx.predictors.includes(p)) p.dispose();
  }
}
