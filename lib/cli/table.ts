// Aligned text tables for terminals. Chinese characters take two columns, so widths are display widths, not
// string lengths. Cells come from posts: their control characters (ESC, OSC, C1, bidi overrides) are shown escaped,
// never sent to the terminal as they are (JSON and CSV output keep the text exactly).
import { escapeControls } from './errors';
import { streams } from './io';

/** Columns a code point takes in a terminal: 0 (combining, control), 2 (East Asian wide / fullwidth, emoji), else 1. */
export function charWidth(cp: number): number {
  if (cp < 32 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || cp === 0x200c || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f))
    return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** One line of at most `width` columns; longer text ends in '…'. Tabs and line breaks become spaces. */
export function truncate(text: string, width: number): string {
  const flat = escapeControls(text.replace(/[\t\r\n]+/g, ' '));
  if (displayWidth(flat) <= width) return flat;
  let out = '';
  let w = 0;
  for (const ch of flat) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width - 1) break;
    out += ch;
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
