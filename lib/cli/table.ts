// Aligned text tables for terminals. Chinese characters take two columns, so widths are display widths, not
// string lengths. Cells come from posts: their control characters (ESC, OSC, C1, bidi overrides) are shown escaped,
// never sent to the terminal as they are (JSON and CSV output keep the text exactly).
import stringWidth from 'string-width';
import { escapeControls } from './errors';
import { streams } from './io';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Columns a text takes in a terminal, by string-width (Unicode's East Asian Width and its emoji data): Chinese
 * characters and emoji 2 (👍🏻 and 👨‍👩‍👧 are one emoji each), combining and zero-width characters 0.
 */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** One line of at most `width` columns; longer text ends in '…'. Tabs and line breaks become spaces. */
export function truncate(text: string, width: number): string {
  const flat = escapeControls(text.replace(/[\t\r\n]+/g, ' '));
  if (displayWidth(flat) <= width) return flat;
  let out = '';
  let w = 0;
  for (const { segment } of graphemes.segment(flat)) {
    const cw = stringWidth(segment);
    if (w + cw > width - 1) break;
    out += segment;
    w += cw;
  }
  return `${out}…`;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

export interface TableOptions {
  /** per column; default left */
  align?: ('left' | 'right')[];
  /** indent every line */
  indent?: string;
}

/** Header, a rule, then rows; columns separated by two spaces; trailing spaces trimmed. */
export function formatTable(headers: string[], rows: string[][], options: TableOptions = {}): string {
  const align = options.align ?? [];
  const indent = options.indent ?? '';
  headers = headers.map(escapeControls);
  rows = rows.map((r) => r.map((cell) => escapeControls(cell ?? '')));
  const widths = headers.map((h, c) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[c] ?? ''))));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((cell, c) => pad(cell ?? '', widths[c], align[c] ?? 'left'))
      .join('  ')
      .replace(/\s+$/, '');
  const rule = indent + widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** Width left for a free-text last column on this terminal (80 columns when unknown). */
export function remainingWidth(used: number, stream: { columns?: number } = streams().stdout, min = 20): number {
  const columns = typeof stream.columns === 'number' && stream.columns > 0 ? stream.columns : 100;
  return Math.max(min, columns - used - 1);
}
