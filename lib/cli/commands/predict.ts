// `qwen3-native predict`: classify posts with one trained run, or every run (--load-all), or their average
// (--ensemble); from --text, --file (CSV/JSONL columns by name, ids carried through), stdin, or a prompt loop.
import * as path from 'path';
import { loadTextsFile } from '../../classifier/data';
import { averagePredictions } from '../../predict/ensemble';
import { DEFAULT_LABELS, sameLabels } from '../../classifier/labels';
import { predictionJson, type Prediction, type Predictor } from '../../predict/predictor';
import { Flags } from '../args';
import { commonSettings, err, existingFile, out, predictAll } from '../common';
import { CliError } from '../errors';
import { interactiveLoop } from './interactive';
import { defaultIo, readAllLines, stdinIsPiped, type Io } from '../prompt';
import {
  formatPredictions,
  outFormat,
  refuseOutOverInput,
  summarizePredictions,
  writePredictions,
  type Row,
} from '../output';
import { openRuns } from '../runs';
import { chooseRuns } from '../select';

interface Inputs {
  texts: string[];
  ids?: (string | number)[];
  file?: string;
}

async function readInputs(flags: Flags, positionals: string[]): Promise<Inputs> {
  const file = existingFile(flags, 'file');
  const textColumn = flags.string('text-column');
  const idColumn = flags.string('id-column');
  for (const [flag, given] of [
    ['text-column', textColumn],
    ['id-column', idColumn],
  ] as const) {
    if (given !== undefined && !file)
      throw new CliError(`${flags.spelling(flag)} names a column of --file <csv|jsonl>`);
  }
  const texts = [...flags.list('text'), ...positionals];
  for (const t of texts) if (t.trim() === '') throw new CliError('--text: expected a non-empty text but received ""');
  if (!file) return { texts };
  const data = await loadTextsFile(file, { textColumn, idColumn });
  if (data.ids && texts.length) throw new CliError('--id-column: ids come from --file alone; drop --text');
  return { texts: [...texts, ...data.texts], ids: data.ids, file };
}

export async function runPredict(flags: Flags, positionals: string[], io: Io = defaultIo()): Promise<number> {
  const s = commonSettings(flags, 'predict');
  const batchSize = flags.positiveInt('batch-size');
  const inputs = await readInputs(flags, positionals);
  const outFile = flags.string('out');
  if (outFile !== undefined) {
    outFormat(outFile, flags.spelling('out'));
    refuseOutOverInput(outFile, [{ flag: flags.spelling('file'), file: inputs.file }], flags.spelling('out'));
  }
  const loadAllRuns = flags.bool('load-all');
  const ensemble = flags.bool('ensemble');
  const forced = flags.bool('interactive');
  if (loadAllRuns && s.run) throw new CliError(`--load-all and ${s.runFlag ?? '--checkpoint'} exclude each other`);
  if (forced && outFile !== undefined)
    throw new CliError('--out writes the predictions of --text/--file; drop --interactive');
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');

  const { texts } = inputs;
  const interactive = forced || (texts.length === 0 && !inputs.file && io.interactive);
  if (texts.length === 0 && !inputs.file && !interactive) {
    if (!stdinIsPiped()) {
      throw new CliError(
        'nothing to classify: give --text <text>, --file <file>, or pipe posts on stdin (one per line)'
      );
    }
    texts.push(...(await readAllLines(io.input)));
    if (texts.length === 0) throw new CliError('nothing to classify: stdin had no non-empty lines');
  }

  const runs = await chooseRuns(io, {
    run: s.run,
    runFlag: s.runFlag,
    method: s.method,
    size: s.size,
    loadAll: loadAllRuns,
    modelsDir,
  });
  const predictors = await openRuns(runs, { settings: s, batchSize, skipUnloadable: loadAllRuns });
  try {
    const average = ensemble && predictors.length > 1;
    if (ensemble && !average)
      err(`note: --ensemble averages two or more runs; only ${predictors[0].name} is loaded (add --load-all)`);
    const print = (rows: Row[]) => {
      if (s.json) for (const r of rows) out(JSON.stringify(predictionJson(r)));
      else out(formatPredictions(rows));
    };
    if (texts.length > 0) {
      const rows = await predictRows(predictors, inputs, average);
      if (outFile !== undefined) {
        writePredictions(outFile, rows);
        err(`wrote ${rows.length} prediction${rows.length === 1 ? '' : 's'} to ${outFile}`);
        if (s.json) print(rows);
        else out(summarizePredictions(rows));
      } else {
        print(rows);
      }
    }
    if (interactive) {
      await interactiveLoop({
        io,
        predictors,
        modelsDir,
        ensemble: average,
        open: { settings: s, batchSize, skipUnloadable: true, tinyNoted: { done: true } },
        print,
      });
    }
    return 0;
  } finally {
    for (const p of predictors) p.dispose();
  }
}

/** Every run on every text (or their average), each row with its input's id when there are ids. */
async function predictRows(predictors: Predictor[], inputs: Inputs, average: boolean): Promise<Row[]> {
  const showProgress = Boolean(inputs.file) || inputs.texts.length > 256;
  const perRun: Prediction[][] = [];
  for (const p of predictors) {
    const label = predictors.length > 1 ? `predict ${p.name}` : 'predict';
    perRun.push(await predictAll(p, inputs.texts, label, showProgress));
  }
  const sets = predictors.map((p) => p.labels ?? DEFAULT_LABELS);
  if (average && sets.some((l) => !sameLabels(l, sets[0]))) {
    const list = predictors.map((p, i) => `${p.name}: ${sets[i].join(',')}`).join('; ');
    throw new CliError(`--ensemble averages runs of one label set, but these differ (${list}); drop --ensemble`);
  }
  const blocks = average ? [averagePredictions(perRun, sets[0])] : perRun;
  const labelsOf = (b: number) => (average ? sets[0] : sets[b]);
  const ids = inputs.ids;
  return blocks.flatMap((rows, b) =>
    rows.map((r, i): Row => ({ ...r, labels: labelsOf(b), ...(ids ? { id: ids[i] } : {}) }))
  );
}
