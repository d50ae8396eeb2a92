// `qwen3-native predict`: classify posts with one trained run, or every run (--load-all).
import * as path from 'path';
import { loadTextsFile } from '../classifier/data';
import { predictionJson, Predictor, type Prediction } from '../classifier/predictor';
import { Flags } from './args';
import { commonSettings, err, existingFile, out, predictAll } from './common';
import { CliError } from './errors';
import { defaultIo, promptLoop, readAllLines, stdinIsPiped, type Io } from './prompt';
import { formatPredictions, outFormat, summarizePredictions, writePredictions } from './report';
import { chooseRuns, tinyNote } from './select';

function openPredictors(
  runs: string[],
  s: ReturnType<typeof commonSettings>,
  batchSize: number | undefined
): Predictor[] {
  return runs.map(
    (checkpoint) =>
      new Predictor({ checkpoint, model: s.model, device: s.device, dtype: s.dtype, offline: s.offline, batchSize })
  );
}

/** Loads each predictor, printing the tiny-model note once when a run was trained on a tiny random model. */
async function loadAll(predictors: Predictor[]): Promise<void> {
  let noted = false;
  for (const p of predictors) {
    await p.load();
    const note = tinyNote(p.info?.baseModel.spec, p.info?.method);
    if (!noted && note) {
      err(note);
      noted = true;
    }
  }
}

export async function runPredict(flags: Flags, positionals: string[], io: Io = defaultIo()): Promise<number> {
  const s = commonSettings(flags, 'predict');
  const batchSize = flags.positiveInt('batch-size');
  const file = existingFile(flags, 'file');
  const outFile = flags.string('out');
  if (outFile !== undefined) outFormat(outFile, flags.spelling('out'));
  const loadAllRuns = flags.bool('load-all');
  if (loadAllRuns && s.checkpoint)
    throw new CliError(`--load-all and ${s.checkpointFlag ?? '--checkpoint'} exclude each other`);
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');

  const texts = [...flags.list('text'), ...positionals];
  for (const t of texts) if (t.trim() === '') throw new CliError('--text: expected a non-empty text but received ""');
  if (file) texts.push(...(await loadTextsFile(file)).texts);
  const interactive = texts.length === 0 && !file && io.interactive;
  if (texts.length === 0 && !file && !interactive) {
    if (!stdinIsPiped()) {
      throw new CliError(
        'nothing to classify: give --text <text>, --file <file>, or pipe posts on stdin (one per line)'
      );
    }
    texts.push(...(await readAllLines(io.input)));
    if (texts.length === 0) throw new CliError('nothing to classify: stdin had no non-empty lines');
  }

  const runs = await chooseRuns(io, {
    checkpoint: s.checkpoint,
    checkpointFlag: s.checkpointFlag,
    method: s.method,
    size: s.size,
    loadAll: loadAllRuns,
    modelsDir,
  });
  const predictors = openPredictors(runs, s, batchSize);
  try {
    await loadAll(predictors);
    if (interactive) {
      err(
        `model${predictors.length > 1 ? 's' : ''}: ${predictors.map((p) => p.name).join(', ')}. Type a post and press Enter; an empty line does nothing, Ctrl-D or "exit" ends.`
      );
      await promptLoop(io, '微博> ', async (line) => {
        const rows: Prediction[] = [];
        for (const p of predictors) rows.push(await p.predict(line));
        print(rows, s.json);
      });
      return 0;
    }
    const rows: Prediction[] = [];
    for (const p of predictors) {
      const label = predictors.length > 1 ? `predict ${p.name}` : 'predict';
      rows.push(...(await predictAll(p, texts, label, Boolean(file) || texts.length > 256)));
    }
    if (outFile !== undefined) {
      writePredictions(outFile, rows);
      err(`wrote ${rows.length} prediction${rows.length === 1 ? '' : 's'} to ${outFile}`);
      if (s.json) print(rows, true);
      else out(summarizePredictions(rows));
    } else {
      print(rows, s.json);
    }
    return 0;
  } finally {
    for (const p of predictors) p.dispose();
  }
}

function print(rows: Prediction[], json: boolean): void {
  if (json) {
    for (const r of rows) out(JSON.stringify(predictionJson(r)));
  } else {
    out(formatPredictions(rows));
  }
}
