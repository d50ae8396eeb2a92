// Texts to classify from a stream of lines (a pipe), each given as soon as its last line has arrived. The formats are
// loadTextsFile's, told apart by the first non-blank line as it tells apart a file without an extension: a JSON object
// starts JSON lines, a CSV header naming the text column starts CSV (a quoted field may span lines), anything else is
// one post per line; when that first line is `text<TAB>label` (weibo2018's train.txt piped in), each line's trailing
// tab and label are dropped as loadTextsFile drops them, so a labelled file classifies the same piped or named. A bad row is reported (source:line: reason) and skipped, so one bad line does not end a stream.
import {
  csvHeaderColumns,
  csvRecordRow,
  isBlank,
  jsonLineRow,
  looksLikeCsvHeader,
  looksLikeJsonObject,
  parseCsv,
  parseLabel,
  type ColumnOptions,
  type CsvColumns,
  type TextsFormat,
} from './data';

export interface StreamedText {
  text: string;
  /** with columns.idColumn: the row's id */
  id?: string | number;
  /** 1-based line where the row starts */
  line: number;
}

export interface StreamedTextsOptions extends ColumnOptions {
  /** how messages name the stream (default stdin) */
  source?: string;
  /** a bad row, skipped: its line and what is wrong (`${source}:${line}: ${reason}` is the message) */
  onProblem?: (line: number, reason: string) => void;
  /** the format, once the first non-blank line has told it */
  onFormat?: (format: TextsFormat) => void;
}

/** The label after a line's last tab, when the line is `text<TAB>label`. */
function labelOf(content: string): 0 | 1 | undefined {
  const tab = content.lastIndexOf('\t');
  return tab > 0 ? parseLabel(content.slice(tab + 1)) : undefined;
}

/** The texts of a stream of lines (readline's lines: without their line break), row by row as they complete. */
export async function* streamedTexts(
  lines: AsyncIterable<string>,
  options: StreamedTextsOptions = {}
): AsyncGenerator<StreamedText, void, undefined> {
  const source = options.source ?? 'stdin';
  const problem = (line: number, reason: string) => options.onProblem?.(line, reason);
  let format: TextsFormat | undefined;
  let columns: CsvColumns | undefined;
  let csv = ''; // the lines of a CSV record not yet complete (a quoted field still open)
  let csvStart = 0;
  let line = 0;
  for await (const raw of lines) {
    line++;
    let content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === 1 && content.charCodeAt(0) === 0xfeff) content = content.slice(1);
    if (format === undefined) {
      if (isBlank(content)) continue;
      format = looksLikeJsonObject(content)
        ? 'jsonl'
        : looksLikeCsvHeader(content, options.textColumn)
          ? 'csv'
          : labelOf(content) !== undefined
            ? 'tsv'
            : 'lines';
      options.onFormat?.(format);
      if (
        (format === 'lines' || format === 'tsv') &&
        (options.textColumn !== undefined || options.idColumn !== undefined)
      ) {
        throw new Error(
          `${source}: a text or id column applies to CSV and JSONL input; this has one post per line` +
            (options.textColumn ? ` and no CSV header naming "${options.textColumn}"` : '')
        );
      }
      if (format === 'csv') {
        const [header] = parseCsv(content, { add: () => undefined });
        columns = csvHeaderColumns(source, { line, fields: header.fields }, false, options);
        continue;
      }
    }
    if (format === 'lines') {
      if (!isBlank(content)) yield { text: content, line };
      continue;
    }
    if (format === 'tsv') {
      const text = labelOf(content) === undefined ? content : content.slice(0, content.lastIndexOf('\t'));
      if (!isBlank(text)) yield { text, line };
      continue;
    }
    if (format === 'jsonl') {
      if (isBlank(content)) continue;
      const row = jsonLineRow(content, line, options);
      if (typeof row === 'string') problem(line, row);
      else if (isBlank(row.text)) problem(line, 'empty text');
      else yield { text: row.text, id: row.id, line };
      continue;
    }
    if (!csv) csvStart = line;
    csv = csv ? `${csv}\n${content}` : content;
    let open = false;
    const records = parseCsv(csv, { add: () => (open = true) });
    if (open) continue; // a quoted field goes on on the next line
    csv = '';
    for (const record of records) {
      const at = { line: csvStart + record.line - 1, fields: record.fields };
      const row = csvRecordRow(at, columns!, options);
      if (typeof row === 'string') problem(at.line, row);
      else if (isBlank(row.text)) problem(at.line, 'empty text');
      else yield { text: row.text, id: row.id, line: at.line };
    }
  }
  if (csv) problem(csvStart, 'quoted field is never closed (a " is missing)');
}
