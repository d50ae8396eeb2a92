// `predict` reading a pipe: a stream filter (`tail -f posts | qwen3-native predict`). Posts are read as they arrive
// (text lines, JSONL or CSV, streamedTexts), batched into model calls as Predictor.predictStream batches them (a batch
// closed at --flush-texts posts or --flush-ms after its first post), and each batch's results printed as soon as they
// are known, in input order. --out still writes its file once, at the end.
import * as readline from 'readline';
import { DEFAULT_LABELS, sameLabels } from '../../classifier/labels';
import { streamedTexts } from '../../classifier/text-stream';
import { averagePredictions } from '../../predict/ensemble';
import { predictionJson, type Prediction, type Predictor } from '../../predict/predictor';
import { STREAM_DEFAULTS, STREAM_OPTIONS } from '../../predict/schema';
import { batchedPredictions, type StreamSettings } from '../../predict/stream';
import { Flags } from '../args';
import { err, out } from '../common';
import { CliError, EXIT, flagError } from '../errors';
import { formatPredictions, summarizePredictions, writePredictions, type Row } from '../output';
import { colourFor, formatExplanations } from '../explain-output';
import { streams } from '../io';

/** --flush-texts and --flush-ms, with the stream defaults of predict/schema.ts. */
export function streamSettings(flags: Flags): StreamSettings {
  const flushMs = flags.nonNegativeInt('flush-ms') ?? STREAM_DEFAULTS.flushMs;
  const most = STREAM_OPTIONS.flushMs.maximum as number;
  if (flushMs > most) throw flagError(flags.spelling('flush-ms'), `an integer from 0 to ${most}`, String(flushMs));
  return { flushTexts: flags.positiveInt('flush-texts') ?? STREAM_DEFAULTS.flushTexts, flushMs };
}

/** The rows of every run on the same texts (runs[r][i]: run r on text i), or their average; with each text's id. */
export function combineRuns(
  predictors: Predictor[],
  perRun: Prediction[][],
  average: boolean,
  ids?: readonly (string | number | undefined)[]
): Row[] {
  const sets = predictors.map((p) => p.labels ?? DEFAULT_LABELS);
  if (average && sets.some((l) => !sameLabels(l, sets[0]))) {
    const list = predictors.map((p, i) => `${p.name}: ${sets[i].join(',')}`).join('; ');
    throw new CliError(`--ensemble averages runs of one label set, but these differ (${list}); drop --ensemble`);
  }
  const blocks = average ? [averagePredictions(perRun, sets[0])] : perRun;
  const labelsOf = (b: number) => (average ? sets[0] : sets[b]);
  return blocks.flatMap((rows, b) =>
    rows.map((r, i): Row => ({ ...r, labels: labelsOf(b), ...(ids?.[i] !== undefined ? { id: ids[i] } : {}) }))
  );
}

export interface StdinPrediction {
  input: NodeJS.ReadableStream;
  predictors: Predictor[];
  average: boolean;
  columns: { textColumn?: string; idColumn?: string };
  stream: StreamSettings;
  outFile?: string;
  /** write the CSV with a UTF-8 byte-order mark */
  csvBom?: boolean;
  json: boolean;
  /** --explain: adds each row's spans */
  explain?: (rows: Row[]) => Promise<void>;
}

/** Classifies stdin as it arrives; returns the exit code (1 when bad rows were skipped). */
export async function predictStdin(o: StdinPrediction): Promise<number> {
  const lines = readline.createInterface({ input: o.input, terminal: false, crlfDelay: Infinity });
  let bad = 0;
  const ids: (string | number | undefined)[] = [];
  const rows = streamedTexts(lines, {
    ...o.columns,
    onProblem: (line, reason) => {
      bad++;
      err(`stdin:${line}: ${reason} (skipped)`);
    },
  });
  async function* texts() {
    for await (const row of rows) {
      ids.push(row.id);
      yield row.text;
    }
  }
  const batches = batchedPredictions(
    texts(),
    async (batch) => {
      const batchIds = ids.splice(0, batch.length);
      const perRun: Prediction[][] = [];
      for (const p of o.predictors) perRun.push(await p.predict(batch));
      const rows = combineRuns(o.predictors, perRun, o.average, batchIds);
      await o.explain?.(rows);
      return [rows];
    },
    o.stream,
    'stdin'
  );
  const written: Row[] = [];
  let first = true;
  try {
    for await (const batch of batches) {
      if (o.outFile !== undefined) written.push(...batch);
      else if (o.json) for (const r of batch) out(JSON.stringify(predictionJson(r)));
      else {
        // One table: later batches print their rows under the first one's header (one label set; several repeat it).
        const table = formatPredictions(batch);
        const sameHeader = !first && !table.startsWith('labels ');
        out(sameHeader ? table.split('\n').slice(2).join('\n') : table);
        const why = formatExplanations(batch, colourFor(streams().stdout));
        if (why) out(why);
      }
      first = false;
    }
  } finally {
    lines.close();
  }
  if (first && bad === 0) throw new CliError('nothing to classify: stdin had no non-empty lines');
  if (o.outFile !== undefined) {
    writePredictions(o.outFile, written, { csvBom: o.csvBom });
    err(`wrote ${written.length} prediction${written.length === 1 ? '' : 's'} to ${o.outFile}`);
    if (o.json) for (const r of written) out(JSON.stringify(predictionJson(r)));
    else out(summarizePredictions(written));
  }
  if (bad === 0) return EXIT.ok;
  err(`stdin: ${bad} bad row${bad === 1 ? '' : 's'} skipped (the lines above say why)`);
  return EXIT.failure;
}
