// A small progress reporter for downloads, training and evaluation. On a terminal it redraws one line (bar, percent,
// rate, ETA); in logs (no TTY, or CI set) it prints a plain line at most every `intervalMs` (2 s) and one at the end,
// so CI logs stay readable. No dependency.
import {
  expectBoolean,
  expectKnownKeys,
  expectNumber,
  expectOneOf,
  expectOptionalOptions,
  expectPositiveInteger,
  expectString,
  invalidRangeError,
  invalidTypeError,
} from './is';

export type ProgressUnit = 'items' | 'bytes';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** the amount that means finished; 0 or undefined while unknown (no bar, percent or ETA) */
  total?: number;
  /** printed first, e.g. 'train' or 'model.safetensors' */
  label?: string;
  /** where to write (default process.stderr) */
  stream?: ProgressStream;
  /** 'bytes' prints sizes as kB/MB/GB and rates per second in bytes (default 'items') */
  unit?: ProgressUnit;
  /** minimum ms between plain log lines (default 2000) */
  intervalMs?: number;
  /** force terminal (true) or log (false) style; default: the stream is a TTY and CI is not set */
  tty?: boolean;
  /** the starting amount, e.g. bytes already present when a download resumes; not counted in the rate */
  initial?: number;
  /** clock in ms, for tests (default Date.now) */
  now?: () => number;
}

export interface Progress {
  /** adds n (default 1) */
  tick(n?: number): void;
  /** sets the amount done; `extra` is appended to the line (e.g. 'loss 0.42') */
  update(done: number, extra?: string): void;
  /** sets or corrects the total once known */
  setTotal(total: number): void;
  /** prints the final line; later calls do nothing */
  done(extra?: string): void;
  /** the amount done so far */
  readonly value: number;
}

const REDRAW_MS = 100;
const OPTION_KEYS = ['total', 'label', 'stream', 'unit', 'intervalMs', 'tty', 'initial', 'now'] as const;

/** CI is set to anything but 0/false/no: progress prints plain lines instead of redrawing one. */
export function isCI(env: Record<string, string | undefined> = process.env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && !/^(0|false|no)$/i.test(ci);
}

export function createProgress(options?: ProgressOptions): Progress {
  const settings = expectOptionalOptions(options);
  expectKnownKeys(settings, 'options', OPTION_KEYS);
  const { label = '', unit = 'items', intervalMs = 2000, initial = 0, now = Date.now } = settings;
  let total = settings.total ?? 0;
  expectNonNegativeNumber(total, 'options.total');
  expectString(label, 'options.label');
  expectOneOf(unit, 'options.unit', ['items', 'bytes'] as const);
  expectPositiveInteger(intervalMs, 'options.intervalMs');
  expectNonNegativeNumber(initial, 'options.initial');
  if (typeof now !== 'function') throw invalidTypeError('function', 'options.now', now);
  const stream: ProgressStream = settings.stream ?? process.stderr;
  if (!stream || typeof stream.write !== 'function') {
    throw invalidTypeError('writable stream', 'options.stream', stream);
  }
  if (settings.tty !== undefined) expectBoolean(settings.tty, 'options.tty');
  const tty = settings.tty ?? (Boolean(stream.isTTY) && !isCI(process.env));

  const start = now();
  let value = initial;
  let extraText = '';
  let lastDraw = tty ? -Infinity : start;
  let finished = false;

  const format = (amount: number): string => (unit === 'bytes' ? formatBytes(amount) : formatCount(amount));

  function line(final: boolean): string {
    const elapsed = (now() - start) / 1000;
    const rate = elapsed > 0 ? (value - initial) / elapsed : 0;
    const parts: string[] = [];
    if (label) parts.push(tty ? label : `${label}:`);
    const fraction = total > 0 ? Math.min(1, value / total) : undefined;
    if (tty && fraction !== undefined) parts.push(bar(fraction, 20));
    parts.push(total > 0 ? `${format(value)}/${format(total)}` : format(value));
    if (fraction !== undefined) parts.push(`${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`);
    if (rate > 0) parts.push(`${format(rate)}/s`);
    if (final) parts.push(`in ${formatDuration(elapsed)}`);
    else if (total > 0 && rate > 0 && value < total) parts.push(`ETA ${formatDuration((total - value) / rate)}`);
    if (extraText) parts.push(extraText);
    return parts.join(' ');
  }

  function draw(final: boolean): void {
    const text = line(final);
    if (tty) {
      const width = typeof stream.columns === 'number' && stream.columns > 10 ? stream.columns - 1 : 0;
      const shown = width && text.length > width ? text.slice(0, width) : text;
      stream.write(`\r${shown}\x1b[K${final ? '\n' : ''}`);
    } else {
      stream.write(`${text}\n`);
    }
  }

  function maybeDraw(): void {
    if (finished) return;
    const t = now();
    if (t - lastDraw >= (tty ? REDRAW_MS : intervalMs)) {
      lastDraw = t;
      draw(false);
    }
  }

  return {
    tick(n = 1) {
      expectNumber(n, 'n');
      value += n;
      maybeDraw();
    },
    update(done: number, extra?: string) {
      expectNumber(done, 'done');
      if (extra !== undefined) {
        expectString(extra, 'extra');
        extraText = extra;
      }
      value = done;
      maybeDraw();
    },
    setTotal(newTotal: number) {
      expectNonNegativeNumber(newTotal, 'total');
      total = newTotal;
    },
    done(extra?: string) {
      if (finished) return;
      if (extra !== undefined) {
        expectString(extra, 'extra');
        extraText = extra;
      }
      finished = true;
      draw(true);
    },
    get value() {
      return value;
    },
  };
}

function expectNonNegativeNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidTypeError('non-negative number', name, value);
  if (!Number.isFinite(value) || value < 0) throw invalidRangeError('non-negative number', name, value);
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** 1536 -> '1.5 kB', 1.2e9 -> '1.12 GB' (powers of 1024, as download tools print). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let amount = bytes;
  let unit = 0;
  while (Math.abs(amount) >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(amount)} B`;
  return `${amount.toFixed(amount < 10 ? 2 : amount < 100 ? 1 : 0)} ${units[unit]}`;
}

function formatCount(amount: number): string {
  if (Number.isInteger(amount)) return String(amount);
  return amount >= 100 ? amount.toFixed(0) : amount.toFixed(amount >= 10 ? 1 : 2);
}

/** 5 -> '5s', 75 -> '1m15s', 3725 -> '1h02m'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
