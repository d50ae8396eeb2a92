// `qwen3-native predict`: classify posts with one trained run, or every run (--load-all), or their average
// (--ensemble); from --text, --file (CSV/JSONL columns by name, ids carried through), stdin, or a prompt loop. Piped
// stdin is a stream: posts are classified in batches as they arrive and each result printed once known (stdin.ts).
import * as path from 'path';
import { loadTextsFile } from '../../classifier/data';
import { predictionJson, type Prediction, type Predictor } from '../../predict/predictor';
import { Flags } from '../args';
import { commonSettings, err, existingFile, out, predictAll } from '../common';
import { CliError } from '../errors';
import { colourFor, explainRows, formatExplanations } from '../explain-output';
import { streams } from '../io';
import { EXPLAIN_OPTIONS } from '../../predict/schema';
import { interactiveLoop } from './interactive';
import { defaultIo, stdinFile, stdinIsPiped, type Io } from '../prompt';
import { combineRuns, predictStdin, streamSettings } from './stdin';
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
  /** the CSV/JSONL columns of --file or of stdin */
  columns: { textColumn?: string; idColumn?: string };
}

async function readInputs(flags: Flags, positionals: string[]): Promise<Inputs> {
  const file = existingFile(flags, 'file');
  const textColumn = flags.string('text-column');
  const idColumn = flags.string('id-column');
  const texts = [...flags.list('text'), ...positionals];
  const columns = { textColumn, idColumn };
  for (const [flag, given] of [
    ['text-column', textColumn],
    ['id-column', idColumn],
  ] as const) {
    if (given !== undefined && !file && (texts.length > 0 || !stdinIsPiped()))
      throw new CliError(`${flags.spelling(flag)} names a column of --file <csv|jsonl> or of CSV/JSONL piped on stdin`);
  }
  for (const t of texts) if (t.trim() === '') throw new CliError('--text: expected a non-empty text but received ""');
  if (!file) return { texts, columns };
  const data = await loadTextsFile(file, { textColumn, idColumn });
  if (data.ids && texts.length) throw new CliError('--id-column: ids come from --file alone; drop --text');
  return { texts: [...texts, ...data.texts], ids: data.ids, file, columns };
}

export async function runPredict(flags: Flags, positionals: string[], io: Io = defaultIo()): Promise<number> {
  const s = commonSettings(flags, 'predict');
  const batchSize = flags.positiveInt('batch-size');
  const stream = streamSettings(flags);
  const inputs = await readInputs(flags, positionals);
  const outFile = flags.string('out');
  const csvBom = flags.bool('csv-bom');
  if (csvBom && (outFile === undefined || outFormat(outFile, flags.spelling('out')) !== 'csv'))
    throw new CliError(`${flags.spelling('csv-bom')} applies to a CSV file: give ${flags.spelling('out')} <file>.csv`);
  if (outFile !== undefined) {
    outFormat(outFile, flags.spelling('out'));
    // Posts come from standard input when neither --text nor --file gives any.
    const fromStdin = inputs.texts.length === 0 && !inputs.file;
    refuseOutOverInput(
      outFile,
      [{ flag: flags.spelling('file'), file: inputs.file }],
      flags.spelling('out'),
      fromStdin ? stdinFile() : undefined
    );
  }
  const loadAllRuns = flags.bool('load-all');
  const ensemble = flags.bool('ensemble');
  const explain = explainSettings(flags, { ensemble, outFile });
  const forced = flags.bool('interactive');
  if (loadAllRuns && s.run) throw new CliError(`--load-all and ${s.runFlag ?? '--checkpoint'} exclude each other`);
  if (forced && outFile !== undefined)
    throw new CliError('--out writes the predictions of --text/--file; drop --interactive');
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');

  const { texts } = inputs;
  const interactive = forced || (texts.length === 0 && !inputs.file && io.interactive);
  const fromStdin = texts.length === 0 && !inputs.file && !interactive;
  if (fromStdin && !stdinIsPiped()) {
    throw new CliError(
      'nothing to classify: give --text <text>, --file <file>, or pipe posts on stdin (one per line, CSV or JSONL)'
    );
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
      else out(formatPredictions(rows) + (explain ? `\n${formatExplanations(rows, colourFor(streams().stdout))}` : ''));
    };
    const explainAll = explain ? (rows: Row[]) => explainRows(rows, predictors, explain.steps) : undefined;
    if (fromStdin) {
      return await predictStdin({
        input: io.input,
        predictors,
        average,
        columns: inputs.columns,
        stream,
        outFile,
        csvBom,
        json: s.json,
        explain: explainAll,
      });
    }
    if (texts.length > 0) {
      const rows = await predictRows(predictors, inputs, average);
      await explainAll?.(rows);
      if (outFile !== undefined) {
        writePredictions(outFile, rows, { csvBom });
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

/** --explain's settings, or undefined without it; refused where the spans would be lost or have no one run. */
function explainSettings(flags: Flags, o: { ensemble: boolean; outFile?: string }): { steps?: number } | undefined {
  const steps = flags.positiveInt('explain-steps');
  if (!flags.bool('explain')) {
    if (steps !== undefined) throw new CliError(`${flags.spelling('explain-steps')} goes with --explain`);
    return undefined;
  }
  const most = EXPLAIN_OPTIONS.steps.maximum as number;
  if (steps !== undefined && steps > most)
    throw new CliError(`${flags.spelling('explain-steps')} is at most ${most} (given ${steps})`);
  if (o.ensemble)
    throw new CliError("--explain shows why one run answered; an --ensemble's average has none: drop one");
  if (o.outFile !== undefined && outFormat(o.outFile, flags.spelling('out')) === 'csv')
    throw new CliError(
      `--explain's spans go to JSON Lines: give ${flags.spelling('out')} <file>.jsonl, or drop --explain`
    );
  return { steps };
}

/** Every run on every text (or their average), each row with its input's id when there are ids. */
async function predictRows(predictors: Predictor[], inputs: Inputs, average: boolean): Promise<Row[]> {
  const showProgress = Boolean(inputs.file) || inputs.texts.length > 256;
  const perRun: Prediction[][] = [];
  for (const p of predictors) {
    const label = predictors.length > 1 ? `predict ${p.name}` : 'predict';
    perRun.push(await predictAll(p, inputs.texts, label, showProgress));
  }
  return combineRuns(predictors, perRun, average, inputs.ids);
}
