// Labelled sentiment data from the formats Weibo corpora come in: `text<TAB>label` lines (weibo2018), CSV with a
// header (weibo_senti_100k's `label,review`), and JSONL. Labels are ids into a label set (labels.ts): the one given,
// else the one the file's labels imply (default: 0 负面, 1 正面).
// Every bad row is collected and reported at once as `file:line: reason`, so a user fixes a file in one pass.
import * as fs from 'fs';
import * as path from 'path';
import { expectNonEmptyString } from '../util/is';
import { DEFAULT_LABELS, inferLabelSet, LabelMatcher, type LabelSet } from './labels';

export type LabelledFormat = 'tsv' | 'csv' | 'jsonl';
/** 'lines': one unlabelled text per line */
export type TextsFormat = LabelledFormat | 'lines';

export interface LabelledData {
  texts: string[];
  /** ids into labelSet (default set: 0 = negative, 1 = positive) */
  labels: number[];
  /** the label set: the one given, else the one the file's labels imply */
  labelSet: string[];
  /** the file as given to the loader */
  source: string;
  format: LabelledFormat;
  /** 1-based line where each row starts, for messages that point back into the file */
  lineNumbers: number[];
}

export interface TextsData {
  texts: string[];
  source: string;
  format: TextsFormat;
  lineNumbers: number[];
  /** with options.idColumn: each row's id (a string from CSV; a string or number from JSONL) */
  ids?: (string | number)[];
}

/** Which columns (CSV header names) or fields (JSONL) hold the text and an id to carry to the output. */
export interface ColumnOptions {
  /** default: review, else text */
  textColumn?: string;
  idColumn?: string;
}

const MAX_REPORTED_PROBLEMS = 20;
const TEXT_COLUMNS = ['review', 'text'];
const LABEL_COLUMN = 'label';

/** 0 or 1 for every accepted spelling of a default-set label (0/1, "0"/"1", 负面/正面, negative/positive). */
export function parseLabel(raw: unknown): 0 | 1 | undefined {
  return new LabelMatcher(DEFAULT_LABELS).id(raw) as 0 | 1 | undefined;
}

export interface Row {
  line: number;
  text: string;
  rawLabel?: unknown;
  id?: string | number;
}

interface Problem {
  line: number;
  reason: string;
}

export class ProblemList {
  private readonly problems: Problem[] = [];
  constructor(private readonly file: string) {}
  add(line: number, reason: string): void {
    this.problems.push({ line, reason });
  }
  throwIfAny(): void {
    if (this.problems.length === 0) return;
    const shown = this.problems.slice(0, MAX_REPORTED_PROBLEMS).map((p) => `  ${this.file}:${p.line}: ${p.reason}`);
    const rest = this.problems.length - shown.length;
    if (rest > 0) shown.push(`  … and ${rest} more bad row${rest === 1 ? '' : 's'}`);
    const count = this.problems.length;
    throw new Error(`${this.file}: ${count} bad row${count === 1 ? '' : 's'}:\n${shown.join('\n')}`);
  }
}

async function readText(file: string): Promise<string> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`Data file not found: ${path.resolve(file)}`);
    if (code === 'EISDIR') throw new Error(`Data path is a directory, not a file: ${path.resolve(file)}`);
    throw new Error(`Could not read data file ${path.resolve(file)}: ${(err as Error).message}`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

export function isBlank(line: string): boolean {
  return line.trim().length === 0;
}

function firstNonBlankLine(text: string): string | undefined {
  return splitLines(text).find((line) => !isBlank(line));
}

export function looksLikeJsonObject(line: string | undefined): boolean {
  if (!line || !line.trimStart().startsWith('{')) return false;
  try {
    const value = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

// ---- CSV (RFC 4180, with Python's csv module's leniency for stray quotes) ----

export interface CsvRecord {
  line: number;
  fields: string[];
}

export function parseCsv(text: string, problems: Pick<ProblemList, 'add'>): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let inQuotes = false;
  let atFieldStart = true;
  let sawQuote = false;
  let line = 1;
  let recordLine = 1;
  const endRecord = () => {
    fields.push(field);
    // A line with nothing on it is a blank line, not a record with one empty field.
    if (!(fields.length === 1 && fields[0] === '' && !sawQuote)) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    atFieldStart = true;
    sawQuote = false;
    recordLine = line;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else if (c === '\r' && text[i + 1] === '\n') {
        continue; // the \n that follows is kept: embedded line breaks become \n on every platform
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && atFieldStart) {
      inQuotes = true;
      sawQuote = true;
      atFieldStart = false;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      line++;
      endRecord();
    } else {
      field += c;
      atFieldStart = false;
    }
  }
  if (inQuotes) {
    problems.add(recordLine, 'quoted field is never closed (a " is missing)');
  } else if (field !== '' || fields.length > 0 || sawQuote) {
    endRecord();
  }
  return records;
}

export interface CsvColumns {
  text: number;
  label: number;
  id: number;
  count: number;
}

function findCsvColumns(header: string[], columns: ColumnOptions): CsvColumns | undefined {
  const names = header.map((name) => name.trim().toLowerCase());
  const wanted = columns.textColumn ? [columns.textColumn.trim().toLowerCase()] : TEXT_COLUMNS;
  const text = wanted.map((name) => names.indexOf(name)).find((index) => index >= 0);
  if (text === undefined) return undefined;
  const id = columns.idColumn ? names.indexOf(columns.idColumn.trim().toLowerCase()) : -1;
  return { text, label: names.indexOf(LABEL_COLUMN), id, count: names.length };
}

function csvRows(
  file: string,
  text: string,
  problems: ProblemList,
  needLabel: boolean,
  options: ColumnOptions = {}
): Row[] {
  const records = parseCsv(text, problems);
  if (records.length === 0) return [];
  const columns = csvHeaderColumns(file, records[0], needLabel, options);
  const rows: Row[] = [];
  for (const record of records.slice(1)) {
    const row = csvRecordRow(record, columns, options);
    if (typeof row === 'string') problems.add(record.line, row);
    else rows.push(row);
  }
  return rows;
}

/** The columns a CSV header names; throws, naming the header's columns, when the text (label, id) column is missing. */
export function csvHeaderColumns(
  file: string,
  header: CsvRecord,
  needLabel: boolean,
  options: ColumnOptions
): CsvColumns {
  const columns = findCsvColumns(header.fields, options);
  const found = `(its columns: ${header.fields.join(', ')})`;
  if (!columns && options.textColumn)
    throw new Error(`${file}:${header.line}: the CSV header has no column "${options.textColumn}" ${found}`);
  if (!columns || (needLabel && columns.label < 0)) {
    const wanted = needLabel ? 'review,label or text,label' : 'a review or text column';
    throw new Error(
      `${file}:${header.line}: CSV header must name ${wanted} (found ${header.fields.join(',')})` +
        (needLabel ? '' : '; name the text column with --text-column / textColumn')
    );
  }
  if (options.idColumn && columns.id < 0)
    throw new Error(`${file}:${header.line}: the CSV header has no column "${options.idColumn}" ${found}`);
  return columns;
}

/** One CSV record after the header as a row, or what is wrong with it. */
export function csvRecordRow({ line, fields }: CsvRecord, columns: CsvColumns, options: ColumnOptions): Row | string {
  let textValue: string;
  if (fields.length === columns.count) {
    textValue = fields[columns.text];
  } else if (fields.length > columns.count && columns.text === columns.count - 1) {
    // An unquoted comma in the last column: keep the text whole rather than reject the row.
    textValue = fields.slice(columns.text).join(',');
  } else {
    return `expected ${columns.count} fields as in the header but found ${fields.length}`;
  }
  const id = columns.id >= 0 ? fields[columns.id] : undefined;
  if (id !== undefined && id.trim() === '') return `empty ${options.idColumn}`;
  return { line, text: textValue, rawLabel: columns.label >= 0 ? fields[columns.label] : undefined, id };
}

export function looksLikeCsvHeader(line: string | undefined, textColumn?: string): boolean {
  if (!line || line.includes('\t')) return false;
  const names = line.split(',').map((name) => name.trim().replace(/^"|"$/g, '').toLowerCase());
  // Header fields are identifiers; requiring that keeps a prose line containing ", text" from passing as one.
  if (names.length < 2 || !names.every((name) => /^[a-z_][a-z0-9_]*$/.test(name))) return false;
  return (textColumn ? [textColumn.toLowerCase()] : TEXT_COLUMNS).some((name) => names.includes(name));
}

// ---- JSONL ----

function jsonlRows(text: string, problems: ProblemList, options: ColumnOptions = {}): Row[] {
  const rows: Row[] = [];
  splitLines(text).forEach((content, index) => {
    if (isBlank(content)) return;
    const row = jsonLineRow(content, index + 1, options);
    if (typeof row === 'string') problems.add(index + 1, row);
    else rows.push(row);
  });
  return rows;
}

/** One JSON line as a row, or what is wrong with it. */
export function jsonLineRow(content: string, line: number, options: ColumnOptions = {}): Row | string {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (err) {
    return `invalid JSON (${(err as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'expected a JSON object like {"text": "…", "label": 1}';
  const record = value as Record<string, unknown>;
  const textField = options.textColumn ?? 'text';
  const textValue = options.textColumn ? record[options.textColumn] : (record.text ?? record.review);
  if (typeof textValue !== 'string')
    return `expected a string "${textField}" field but found ${JSON.stringify(textValue) ?? 'none'}`;
  let id: string | number | undefined;
  if (options.idColumn) {
    const raw = record[options.idColumn];
    if ((typeof raw !== 'string' || raw.trim() === '') && !(typeof raw === 'number' && Number.isFinite(raw)))
      return `expected a string or number "${options.idColumn}" field but found ${JSON.stringify(raw) ?? 'none'}`;
    id = raw;
  }
  return { line, text: textValue, rawLabel: record.label, id };
}

// ---- text<TAB>label ----

function tsvRows(text: string, problems: ProblemList): Row[] {
  const rows: Row[] = [];
  let firstContentLine = true;
  splitLines(text).forEach((content, index) => {
    const line = index + 1;
    if (isBlank(content)) return;
    const isFirst = firstContentLine;
    firstContentLine = false;
    const tab = content.lastIndexOf('\t');
    if (tab < 0) {
      problems.add(line, 'expected text<TAB>label but the line has no tab');
      return;
    }
    const rawLabel = content.slice(tab + 1);
    // A header line such as `text<TAB>label` is not data.
    if (isFirst && rawLabel.trim().toLowerCase() === LABEL_COLUMN) return;
    rows.push({ line, text: content.slice(0, tab), rawLabel });
  });
  return rows;
}

function describeLabel(raw: unknown): string {
  return raw === undefined ? 'missing' : (JSON.stringify(raw) ?? String(raw));
}

function detectLabelledFormat(file: string, text: string): LabelledFormat {
  const extension = path.extname(file).toLowerCase();
  const firstLine = firstNonBlankLine(text);
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.csv') return 'csv';
  if (extension === '.tsv') return 'tsv';
  if (extension === '.txt') return looksLikeCsvHeader(firstLine) ? 'csv' : 'tsv';
  if (looksLikeJsonObject(firstLine)) return 'jsonl';
  if (looksLikeCsvHeader(firstLine)) return 'csv';
  if (firstLine?.includes('\t')) return 'tsv';
  throw new Error(
    `Cannot tell the format of ${file}: expected text<TAB>label lines (.txt/.tsv), ` +
      'CSV with a review,label or text,label header (.csv), or JSON lines {"text": …, "label": …} (.jsonl)'
  );
}

/**
 * Loads labelled texts; throws one Error listing every bad row as `file:line: reason`. Labels are ids or names of
 * `options.labels`; without it, of the set the file's labels imply (inferLabelSet).
 */
export async function loadLabelledFile(file: string, options: { labels?: LabelSet } = {}): Promise<LabelledData> {
  expectNonEmptyString(file, 'file');
  const text = await readText(file);
  const format = detectLabelledFormat(file, text);
  const problems = new ProblemList(file);
  const rows =
    format === 'jsonl'
      ? jsonlRows(text, problems)
      : format === 'csv'
        ? csvRows(file, text, problems, true)
        : tsvRows(text, problems);
  const labelSet = [...(options.labels ?? inferLabelSet(rows.map((r) => r.rawLabel)) ?? DEFAULT_LABELS)];
  const matcher = new LabelMatcher(labelSet);
  const data: LabelledData = { texts: [], labels: [], labelSet, source: file, format, lineNumbers: [] };
  for (const row of rows) {
    const label = matcher.id(row.rawLabel);
    if (label === undefined) {
      problems.add(row.line, `label must be ${matcher.expected()} but is ${describeLabel(row.rawLabel)}`);
      continue;
    }
    if (isBlank(row.text)) {
      problems.add(row.line, 'empty text');
      continue;
    }
    data.texts.push(row.text);
    data.labels.push(label);
    data.lineNumbers.push(row.line);
  }
  problems.throwIfAny();
  if (data.texts.length === 0) throw new Error(`${file}: no labelled rows found (the file is empty)`);
  return data;
}

/**
 * Loads texts to classify: one text per line, or any labelled format (labels are then ignored; a CSV needs only a
 * review/text column and JSONL only a "text" field, or the column/field `textColumn` names). A .txt/.tsv file counts
 * as `text<TAB>label` only when every line ends in a tab and a valid label; otherwise each whole line is one text.
 * `idColumn` (CSV, JSONL) carries each row's id along.
 */
export async function loadTextsFile(file: string, columns: ColumnOptions = {}): Promise<TextsData> {
  expectNonEmptyString(file, 'file');
  const text = await readText(file);
  const extension = path.extname(file).toLowerCase();
  const firstLine = firstNonBlankLine(text);
  const problems = new ProblemList(file);
  let format: TextsFormat;
  let rows: Row[];
  if (
    extension === '.jsonl' ||
    extension === '.ndjson' ||
    (!['.txt', '.tsv', '.csv'].includes(extension) && looksLikeJsonObject(firstLine))
  ) {
    format = 'jsonl';
    rows = jsonlRows(text, problems, columns);
  } else if (extension === '.csv' || (extension !== '.tsv' && looksLikeCsvHeader(firstLine, columns.textColumn))) {
    format = 'csv';
    rows = csvRows(file, text, problems, false, columns);
  } else {
    if (columns.textColumn !== undefined || columns.idColumn !== undefined) {
      throw new Error(
        `${file}: a text or id column applies to CSV and JSONL files; this one has one post per line` +
          (columns.textColumn ? ` and no CSV header naming "${columns.textColumn}"` : '')
      );
    }
    const lines = splitLines(text)
      .map((content, index) => ({ line: index + 1, content }))
      .filter(({ content }) => !isBlank(content));
    const labelled =
      lines.length > 0 &&
      lines.every(({ content }) => {
        const tab = content.lastIndexOf('\t');
        return tab > 0 && parseLabel(content.slice(tab + 1)) !== undefined;
      });
    format = labelled ? 'tsv' : 'lines';
    rows = lines.map(({ line, content }) => ({
      line,
      text: labelled ? content.slice(0, content.lastIndexOf('\t')) : content,
    }));
  }
  const data: TextsData = { texts: [], source: file, format, lineNumbers: [] };
  if (columns.idColumn) data.ids = [];
  for (const row of rows) {
    if (isBlank(row.text)) {
      problems.add(row.line, 'empty text');
      continue;
    }
    data.texts.push(row.text);
    data.lineNumbers.push(row.line);
    if (data.ids) data.ids.push(row.id as string | number);
  }
  problems.throwIfAny();
  if (data.texts.length === 0) throw new Error(`${file}: no texts found (the file is empty)`);
  return data;
}
