// What the CLI prints: prediction tables, metrics tables, JSON Lines objects, and --out files (JSONL / CSV).
import * as fs from 'fs';
import * as path from 'path';
import {
  DEFAULT_LABELS,
  describeLabels,
  isDefaultLabels,
  probabilityColumns,
  type LabelSet,
} from '../classifier/labels';
import type { Metrics } from '../classifier/metrics';
import { predictionJson, type Prediction } from '../predict/predictor';
import type { AttributionSpan } from '../predict/schema';
import { writeFileAtomic } from '../util/atomic-write';
import { CliError, flagError } from './errors';
import { displayWidth, formatTable, remainingWidth, truncate } from './table';
import { streams } from './io';

/**
 * A prediction as the CLI prints it: with the id of its input row when --id-column gave one, and the label set of
 * the run that made it (default: the binary set).
 */
export type Row = Prediction & { id?: string | number; labels?: LabelSet; tokens?: AttributionSpan[] };

const labelsOf = (r: Row): LabelSet => r.labels ?? DEFAULT_LABELS;

/** Rows grouped by label set, in first-seen order (runs of --load-all may differ). */
export function byLabelSet(rows: Row[]): { labels: LabelSet; rows: Row[] }[] {
  const groups = new Map<string, { labels: LabelSet; rows: Row[] }>();
  for (const r of rows) {
    const key = JSON.stringify(labelsOf(r));
    if (!groups.has(key)) groups.set(key, { labels: labelsOf(r), rows: [] });
    groups.get(key)!.rows.push(r);
  }
  return [...groups.values()];
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const fixed = (x: number) => x.toFixed(4);

/** Aligned table: [id,] model, label, sentiment, confidence, text (cut to the terminal width). */
function predictionTable(rows: Row[], stream: { columns?: number }): string {
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

/** Aligned table(s): one per label set, each headed by its labels, when the runs' label sets differ. */
export function formatPredictions(rows: Row[], stream: { columns?: number } = streams().stdout): string {
  const groups = byLabelSet(rows);
  if (groups.length <= 1) return predictionTable(rows, stream);
  return groups.map((g) => `labels ${describeLabels(g.labels)}:\n${predictionTable(g.rows, stream)}`).join('\n\n');
}

/** Accuracy and macro scores, per-class precision/recall/F1/support, and the confusion matrix. */
export function formatMetrics(m: Metrics, title?: string, labels: LabelSet = DEFAULT_LABELS): string {
  const lines: string[] = [];
  if (title) lines.push(title);
  lines.push(
    `accuracy ${pct(m.accuracy)}   macro-F1 ${pct(m.macroF1)}   weighted-F1 ${pct(m.weightedF1)}   macro-precision ${pct(m.macroPrecision)}   macro-recall ${pct(m.macroRecall)}   (${m.count} posts)`
  );
  lines.push('');
  lines.push(
    formatTable(
      ['class', 'precision', 'recall', 'f1', 'support'],
      m.perClass.map((c) => [
        `${c.label} ${labels[c.label] ?? ''}`,
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
      ['true \\ predicted', ...m.confusion.map((_, p) => `${p} ${labels[p] ?? ''}`)],
      m.confusion.map((row, t) => [`${t} ${labels[t] ?? ''}`, ...row.map(String)]),
      { align: ['left', ...m.confusion.map(() => 'right' as const)], indent: '  ' }
    )
  );
  return lines.join('\n');
}

/** One line per model comparing them (eval --load-all); one table per label set when the runs' sets differ. */
export function formatComparison(results: { model: string; metrics: Metrics; labels?: LabelSet }[]): string {
  const groups = new Map<string, { labels: LabelSet; results: typeof results }>();
  for (const r of results) {
    const labels = r.labels ?? DEFAULT_LABELS;
    const key = JSON.stringify(labels);
    if (!groups.has(key)) groups.set(key, { labels, results: [] });
    groups.get(key)!.results.push(r);
  }
  const tables = [...groups.values()].map(({ labels, results: rs }) => {
    const table = formatTable(
      ['model', 'accuracy', 'macro-F1', ...labels.flatMap((s) => [`P(${s})`, `R(${s})`]), 'posts'],
      rs.map(({ model, metrics: m }) => [
        model,
        pct(m.accuracy),
        pct(m.macroF1),
        ...m.perClass.flatMap((c) => [fixed(c.precision), fixed(c.recall)]),
        String(m.count),
      ]),
      { align: ['left', ...labels.flatMap(() => ['right', 'right'] as const), 'right', 'right', 'right'] }
    );
    return groups.size > 1 ? `labels ${describeLabels(labels)}:\n${table}` : table;
  });
  return tables.join('\n\n');
}

/** The JSON object `eval --json` prints per model. */
export function metricsJson(
  model: string,
  runDir: string,
  test: string,
  m: Metrics,
  labels: LabelSet = DEFAULT_LABELS
): Record<string, unknown> {
  return {
    model,
    checkpoint: runDir, // the JSON field keeps the flag's name
    test,
    count: m.count,
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    weightedF1: m.weightedF1,
    macroPrecision: m.macroPrecision,
    macroRecall: m.macroRecall,
    perClass: m.perClass.map((c) => ({ ...c, sentiment: labels[c.label] })),
    ...(isDefaultLabels(labels) ? {} : { labels: [...labels] }),
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

/**
 * Refuses an --out that is one of the input files, or the file standard input reads (`--out X < X`, compared by
 * device and inode): writing predictions would replace the posts.
 */
export function refuseOutOverInput(
  file: string,
  inputs: { flag: string; file?: string }[],
  flag = '--out',
  stdin?: fs.Stats
): void {
  let out: fs.Stats | undefined;
  try {
    out = fs.statSync(file);
  } catch {
    out = undefined;
  }
  if (stdin && out && stdin.dev === out.dev && stdin.ino === out.ino) {
    throw new CliError(
      `${flag} ${file} is the file standard input reads (${flag} ${file} < ${file}): writing the predictions would ` +
        'replace the posts. Choose another output file'
    );
  }
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
 * Writes predictions as JSON Lines or CSV (header: [id,]model,label,sentiment,confidence,<p columns>,text; the p
 * columns are p_negative,p_positive for the default set, else p_<name> per label). A CSV is refused when the rows
 * come from runs of different label sets: one header cannot name both sets' columns.
 */
export function writePredictions(file: string, rows: Row[], options: { csvBom?: boolean } = {}): void {
  const format = outFormat(file);
  let body: string;
  if (format === 'jsonl') {
    body = rows.map((r) => JSON.stringify(predictionJson(r))).join('\n') + (rows.length ? '\n' : '');
  } else {
    const groups = byLabelSet(rows);
    if (groups.length > 1) {
      const sets = groups.map(
        (g) => `${describeLabels(g.labels)} (${[...new Set(g.rows.map((r) => r.model))].join(', ')})`
      );
      throw new CliError(
        `${file}: the runs have different label sets: ${sets.join('; ')}. A CSV's probability columns cannot hold ` +
          'both: write a .jsonl file (each row names its labels), or predict with runs of one label set (--checkpoint)'
      );
    }
    const ids = rows.some((r) => r.id !== undefined);
    const columns = probabilityColumns(groups[0]?.labels ?? DEFAULT_LABELS);
    const header = [...(ids ? ['id'] : []), 'model', 'label', 'sentiment', 'confidence', ...columns, 'text']
      .map(csvCell)
      .join(',');
    const lines = rows.map((r) =>
      [
        ...(ids ? [String(r.id ?? '')] : []),
        r.model,
        String(r.label),
        r.sentiment,
        String(r.confidence),
        ...r.probabilities.map(String),
        r.text,
      ]
        .map(csvCell)
        .join(',')
    );
    // RFC 4180 quoting; UTF-8, with a byte-order mark only when asked: Excel reads a CSV without one in the system's
    // code page (mojibake for Chinese), while most other readers keep a mark as part of the first column's name.
    body = `${options.csvBom ? '\ufeff' : ''}${[header, ...lines].join('\n')}\n`;
  }
  writeFileAtomic(file, body);
}

/** "model-a: 12 正面, 8 负面" per model (other label sets: each label's count in id order), for rows sent to --out. */
export function summarizePredictions(rows: Row[]): string {
  const byModel = new Map<string, { labels: LabelSet; counts: number[] }>();
  for (const r of rows) {
    const labels = labelsOf(r);
    const entry = byModel.get(r.model) ?? { labels, counts: labels.map(() => 0) };
    entry.counts[r.label]++;
    byModel.set(r.model, entry);
  }
  return [...byModel]
    .map(([model, { labels, counts }]) => {
      const order = isDefaultLabels(labels) ? [1, 0] : labels.map((_, i) => i);
      return `${model}: ${order.map((i) => `${counts[i]} ${labels[i]}`).join(', ')}`;
    })
    .join('\n');
}
