// Choosing what to work on: the method and model size for `train`, the trained run(s) for `predict` / `eval`.
// A missing choice is asked for on a terminal, otherwise it is an error listing the valid choices.
import * as fs from 'fs';
import * as path from 'path';
import { defaultOutput, familyFor, METHOD_DESCRIPTIONS, METHODS, type Method } from '../classifier/methods';
import { firstLine, isPickledFile, isRunFolder, readRunInfo } from '../runs/folder';
import { readTestResults } from '../runs/results';
import { type RunInfo, type TestResults } from '../runs/schema';
import { findRunFor, findRuns } from '../runs/lookup';
import {
  describePreset,
  findPreset,
  MODEL_SIZES,
  modelPreset,
  type ModelFamily,
  type ModelSize,
} from '../qwen3/presets';
import { isScratchSpec, isTinySpec, SCRATCH_SPEC } from '../qwen3/tiny';
import { displayPath } from '../util/paths';
import { CliError, EXIT } from './errors';
import { requireChoice, type Choice, type Io } from './prompt';

export const METHOD_CHOICES: Choice<Method>[] = METHODS.map((m) => ({
  value: m,
  name: m,
  detail: METHOD_DESCRIPTIONS[m],
}));

export function sizeChoices(family: ModelFamily): Choice<ModelSize>[] {
  return MODEL_SIZES.map((size) => {
    const preset = modelPreset(size, family);
    return { value: size, name: size, detail: describePreset(preset).slice(size.padEnd(5).length + 1) };
  });
}

export const TINY_NOTE =
  'note: a tiny random model is a smoke test of the whole pipeline, not a sentiment model: its predictions are noise.';

/** The note for a run on a generated random model: noise, unless method full trains tiny-scratch from scratch. */
export function tinyNote(spec: string | undefined, method: Method | undefined): string | undefined {
  if (!isTinySpec(spec) || (isScratchSpec(spec) && method === 'full')) return undefined;
  return TINY_NOTE;
}

/**
 * The <size> part of the default run folder ./models/qwen3_<method>_<size>: the --model-size, 'tiny' for the tiny
 * models, the preset a repo id names (Qwen/Qwen3-4B -> 4B), else the model folder's name.
 */
export function sizeLabel(size: ModelSize | undefined, model: string | undefined, family: ModelFamily): string {
  if (size) return size;
  if (!model) return '0.6B';
  if (isTinySpec(model)) return isScratchSpec(model) ? SCRATCH_SPEC : 'tiny';
  const preset = findPreset(model, family) ?? findPreset(model, family === 'causal' ? 'embedding' : 'causal');
  if (preset) return preset.size;
  return path.basename(path.resolve(model)).replace(/[^\w.-]+/g, '_') || 'custom';
}

export function defaultRunFolder(method: Method, size: ModelSize | undefined, model: string | undefined): string {
  return defaultOutput(method, sizeLabel(size, model, familyFor(method)));
}

/** The method and model size for `train`; --model makes the size optional. */
export async function chooseTrainTarget(
  io: Io,
  given: { method?: Method; size?: ModelSize; model?: string }
): Promise<{ method: Method; size?: ModelSize }> {
  const method =
    given.method ??
    (await requireChoice(
      io,
      '--method',
      'Which training method?',
      METHOD_CHOICES,
      'e.g. qwen3-native train --method lora --model-size 0.6B'
    ));
  let size = given.size;
  if (!size && !given.model) {
    size = await requireChoice(
      io,
      '--model-size',
      `Which model size? (memory each needs; ${method === 'embedding' ? 'Qwen3-Embedding' : 'Qwen3'} weights are downloaded once)`,
      sizeChoices(familyFor(method)),
      "or give a base model with --model <folder | hub id | tiny> ('tiny' trains a tiny random model, no download)"
    );
  }
  return { method, size };
}

export interface RunSummary {
  dir: string;
  info?: RunInfo;
  /** test_results.json, when the run has one (and it reads) */
  test?: TestResults;
  /** why it cannot be read */
  problem?: string;
}

export function readRun(dir: string): RunSummary {
  if (isPickledFile(dir))
    return { dir, problem: 'an old pickled embedding head (.pth): not read here, for safety; re-train it' };
  try {
    const info = readRunInfo(dir);
    let test: TestResults | undefined;
    try {
      test = readTestResults(dir);
    } catch {
      // a damaged test result hides the result, not the run
    }
    return { dir, info, test };
  } catch (e) {
    return { dir, problem: `unreadable: ${firstLine(e)}` };
  }
}

/** "lora on Qwen/Qwen3-0.6B, dev accuracy 91.2%, test accuracy 90.1%", "lora-head (a PEFT adapter) on …" */
export function describeRun(run: RunSummary): string {
  const i = run.info;
  if (!i) return run.problem ?? 'unreadable';
  const peft = i.versions.package === 'peft' ? ' (a PEFT adapter)' : '';
  const best = i.best ? `, dev accuracy ${(i.best.metrics.accuracy * 100).toFixed(1)}%` : '';
  const test = run.test ? `, test accuracy ${(run.test.metrics.accuracy * 100).toFixed(1)}%` : '';
  const base = i.baseModel.repoId ?? (i.baseModel.spec || 'an unnamed base model');
  return `${i.method}${peft} on ${base}${best}${test}${i.stopped ? ' (stopped early)' : ''}`;
}

export function runChoices(runs: RunSummary[]): Choice<string>[] {
  return runs.map((r) => ({ value: r.dir, name: displayPath(r.dir), detail: describeRun(r) }));
}

export interface RunQuery {
  /** a trained run folder (--checkpoint), and the flag's spelling it came by */
  run?: string;
  runFlag?: string;
  method?: Method;
  size?: ModelSize;
  loadAll?: boolean;
  modelsDir: string;
}

function noRunsError(modelsDir: string): CliError {
  return new CliError(
    `no trained model under ${displayPath(modelsDir)}. Train one first, e.g.\n` +
      '  qwen3-native train --method lora --model tiny        (tiny random model, no download: a smoke test)\n' +
      '  qwen3-native train --method lora --model-size 0.6B   (downloads Qwen/Qwen3-0.6B once)\n' +
      'or point at a run folder with --checkpoint <dir>.',
    EXIT.failure
  );
}

/** The run folder(s) predict/eval use. */
export async function chooseRuns(io: Io, q: RunQuery): Promise<string[]> {
  const all = () => findRuns(q.modelsDir).map(readRun);
  if (q.run) {
    const dir = path.resolve(q.run);
    // A pickled file goes on to the Predictor, whose error says why it is not read and what to do.
    if (isRunFolder(dir) || (isPickledFile(dir) && fs.existsSync(dir))) return [dir];
    const found = all();
    const why = fs.existsSync(dir)
      ? 'has no run.json or adapter_config.json (it is not a trained run folder)'
      : 'does not exist';
    throw new CliError(
      `${q.runFlag ?? '--checkpoint'}: ${dir} ${why}` +
        (found.length
          ? `; trained runs under ${displayPath(q.modelsDir)}:\n${runChoices(found)
              .map((c) => `  ${c.name}  ${c.detail}`)
              .join('\n')}`
          : '')
    );
  }
  if (q.loadAll) {
    const runs = findRuns(q.modelsDir);
    if (!runs.length) throw noRunsError(q.modelsDir);
    return runs;
  }
  const runs = all();
  if (q.size) {
    const { candidates: names, found: hit } = findRunFor(q.modelsDir, q.size, q.method);
    if (hit) return [hit];
    throw new CliError(
      `no trained model for --model-size ${q.size}${q.method ? ` and --method ${q.method}` : ''}: looked for ${names.map(displayPath).join(', ')}` +
        (runs.length
          ? `\ntrained runs found:\n${runChoices(runs)
              .map((c) => `  ${c.name}  ${c.detail}`)
              .join('\n')}\nuse one with --checkpoint <dir>`
          : ''),
      EXIT.failure
    );
  }
  // Only runs that can be read are offered (an unreadable one shows, with why, when none is left).
  const matching = runs.filter((r) => r.info && (!q.method || r.info.method === q.method));
  if (!runs.length) throw noRunsError(q.modelsDir);
  if (matching.length === 0) {
    throw new CliError(
      `no ${q.method ? `trained ${q.method}` : 'loadable'} model under ${displayPath(q.modelsDir)}; trained runs:\n${runChoices(
        runs
      )
        .map((c) => `  ${c.name}  ${c.detail}`)
        .join('\n')}`,
      EXIT.failure
    );
  }
  if (q.method && matching.length === 1) return [matching[0].dir];
  const dir = await requireChoice(
    io,
    '--checkpoint',
    'Which trained model?',
    runChoices(matching),
    'pass --checkpoint <run folder>, or --method/--model-size, or --load-all for every run'
  );
  return [dir];
}
