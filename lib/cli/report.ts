// What the CLI prints: prediction tables, metrics tables, JSON Lines objects, and --out files (JSONL / CSV).
import * as fs from 'fs';
import * as path from 'path';
import { LABEL_TEXTS } from '../classifier/methods';
import type { Metrics } from '../classifier/metrics';
import { predictionJson, type Prediction } from '../classifier/predictor';
import { writeFileAtomic } from '../util/atomic-write';
import { CliError, flagError } from './errors';
import { displayWidth, formatTable, remainingWidth, truncate } from './table';

const SENTIMENT = LABEL_TEXTS;

/** A prediction as the CLI prints it: with the id of its input row when --id-column gave one. */
export type Row = Prediction & { id?: string | number };

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const fixed = (x: number) => x.toFixed(4);

/** Aligned table: [id,] model, label, sentiment, confidence, text (cut to the terminal width). */
export function formatPredictions(rows: Row[], stream: { columns?: number } = process.stdout): string {
  const ids = rows.some((r) => r.id !== undefined);
  const idWidth = ids ? Math.max(2, ...rows.map((r) => displayWidth(String(r.id ?? '')))) + 2 : 0;
  const modelWidth = Math.max(5, ...rows.map((r) => displayWidth(r.model)));
  const textWidth = remainingWidth(idWidth + modelWidth + 2 + 5 + 2 + 9 + 2 + 10 + 2, stream, 24);
  const cells = rows.map((r) => [
    r.model,
    String(r.label),
    r.sentiment,
    pct(r.confidence),
    truncate(r.text, textWidth),
  ]);
  const align: ('left' | 'right')[] = ['left', 'right', 'left', 'right', 'left'];
  const headers = ['model', 'label', 'sentiment', 'confidence', 'text'];
  if (!ids) return formatTable(headers, cells, { align });
  return formatTable(
    ['id', ...headers],
    cells.map((c, i) => [String(rows[i].id ?? ''), ...c]),
    { align: ['left', ...align] }
  );
}

/** Accuracy and macro scores, per-class precision/recall/F1/support, and the confusion matrix. */
export function formatMetrics(m: Metrics, title?: string): string {
  const lines: string[] = [];
  if (title) lines.push(title);
  lines.push(
    `accuracy ${pct(m.accuracy)}   macro-F1 ${pct(m.macroF1)}   macro-precision ${pct(m.macroPrecision)}   macro-recall ${pct(m.macroRecall)}   (${m.count} posts)`
  );
  lines.push('');
  lines.push(
    formatTable(
      ['class', 'precision', 'recall', 'f1', 'support'],
      m.perClass.map((c) => [
        `${c.label} ${SENTIMENT[c.label] ?? ''}`,
        fixed(c.precision),
        fixed(c.recall),
        fixed(c.f1),
        String(c.support),
      ]),
      { align: ['left', 'right', 'right', 'right', 'right'], indent: '  ' }
    )
  );
  lines.push('');
  lines.push('  confusion matrix (rows: true label, columns: predicted)');
  lines.push(
    formatTable(
      ['true \\ predicted', ...m.confusion.map((_, p) => `${p} ${SENTIMENT[p] ?? ''}`)],
      m.confusion.map((row, t) => [`${t} ${SENTIMENT[t] ?? ''}`, ...row.map(String)]),
      { align: ['left', ...m.confusion.map(() => 'right' as const)], indent: '  ' }
    )
  );
  return lines.join('\n');
}

/** One line per model comparing them (eval --load-all). */
export function formatComparison(results: { model: string; metrics: Metrics }[]): string {
  return formatTable(
    ['model', 'accuracy', 'macro-F1', ...SENTIMENT.flatMap((s) => [`P(${s})`, `R(${s})`]), 'posts'],
    results.map(({ model, metrics: m }) => [
      model,
      pct(m.accuracy),
      pct(m.macroF1),
      fixed(m.perClass[0].precision),
      fixed(m.perClass[0].recall),
      fixed(m.perClass[1].precision),
      fixed(m.perClass[1].recall),
      String(m.count),
    ]),
    { align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] }
  );
}

/** The JSON object `eval --json` prints per model. */
export function metricsJson(model: string, checkpoint: string, test: string, m: Metrics): Record<string, unknown> {
  return {
    model,
    checkpoint,
    test,
    count: m.count,
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    macroPrecision: m.macroPrecision,
    macroRecall: m.macroRecall,
    perClass: m.perClass.map((c) => ({ ...c, sentiment: SENTIMENT[c.label] })),
    confusion: m.confusion,
  };
}

export type OutFormat = 'jsonl' | 'csv';

/** The same file (by real path, or the same inode: a hard link), when both exist. */
function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [fs.statSync(a), fs.statSync(b)];
    return (x.dev === y.dev && x.ino === y.ino) || fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

/** Refuses an --out that is one of the input files: writing predictions would replace the posts. */
export function refuseOutOverInput(file: string, inputs: { flag: string; file?: string }[], flag = '--out'): void {
  for (const input of inputs) {
    if (input.file !== undefined && sameFile(file, input.file)) {
      throw new CliError(
        `${flag} ${file} is the ${input.flag} input (${input.file}): writing the predictions would replace the posts. ` +
          'Choose another output file'
      );
    }
  }
}

/** Checks --out before any work: a .jsonl/.ndjson or .csv file in a folder that exists. */
export function outFormat(file: string, flag = '--out'): OutFormat {
  const ext = path.extname(file).toLowerCase();
  const format = ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : ext === '.csv' ? 'csv' : undefined;
  if (!format) throw flagError(flag, 'a file ending in .jsonl or .csv', file);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new CliError(`${flag}: the folder ${dir} does not exist`);
  return format;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Writes predictions as JSON Lines or CSV (header: [id,]model,label,sentiment,confidence,p_negative,p_positive,text).
 */
export function writePredictions(file: string, rows: Row[]): void {
  const format = outFormat(file);
  let body: string;
  if (format === 'jsonl') {
    body = rows.map((r) => JSON.stringify(predictionJson(r))).join('\n') + (rows.length ? '\n' : '');
  } else {
    const ids = rows.some((r) => r.id !== undefined);
    const header = `${ids ? 'id,' : ''}model,label,sentiment,confidence,p_negative,p_positive,text`;
    const lines = rows.map((r) =>
      [
        ...(ids ? [String(r.id ?? '')] : []),
        r.model,
        String(r.label),
        r.sentiment,
        String(r.confidence),
        String(r.probabilities[0]),
        String(r.probabilities[1]),
        r.text,
      ]
        .map(csvCell)
        .join(',')
    );
    // RFC 4180 quoting; UTF-8 without a byte-order mark.
    body = `${[header, ...lines].join('\n')}\n`;
  }
  writeFileAtomic(file, body);
}

/** "model-a: 12 正面, 8 负面" per model, for runs whose rows went to --out. */
export function summarizePredictions(rows: Row[]): string {
  const byModel = new Map<string, [number, number]>();
  for (const r of rows) {
    const counts = byModel.get(r.model) ?? [0, 0];
    counts[r.label]++;
    byModel.set(r.model, counts);
  }
  return [...byModel]
    .map(([model, [neg, pos]]) => `${model}: ${pos} ${SENTIMENT[1]}, ${neg} ${SENTIMENT[0]}`)
    .join('\n');
}
