// The server's log, on stderr: fastify's logger (pino) writes one JSON object per line; --log-format json passes
// those lines through as they are (one line per request, for log collectors), text reformats each into a line a
// person reads. No pino-pretty: this is the one format needed, in a few lines.
import type { LogFormat } from './options';

export interface LogStream {
  write(line: string): void;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields and the ones a text line already shows up front */
const SHOWN_UP_FRONT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'method', 'url', 'status', 'ms']);

/** A field's value as the text line shows it ('' when the message already says it). */
function value(v: unknown, msg: string): string {
  const plain = Array.isArray(v)
    ? v.join(', ')
    : typeof v === 'string' || typeof v === 'number'
      ? String(v)
      : undefined;
  if (plain !== undefined && plain !== '' && msg.includes(plain)) return '';
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v && typeof v === 'object' && 'message' in v) return JSON.stringify((v as { message: unknown }).message);
  return JSON.stringify(v);
}

/** One pino JSON line as "2026-12-01T15:55:00.123Z INFO  POST /v1/predict 200 3.1 ms req-1 texts=1 model=m". */
export function formatTextLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time =
    typeof o.time === 'string' ? o.time : new Date(typeof o.time === 'number' ? o.time : Date.now()).toISOString();
  const parts = [time, (LEVELS[o.level as number] ?? String(o.level)).padEnd(5)];
  if (o.method !== undefined && o.url !== undefined && o.status !== undefined) {
    parts.push(`${o.method} ${o.url} ${o.status}${typeof o.ms === 'number' ? ` ${o.ms.toFixed(1)} ms` : ''}`);
  } else if (o.msg !== undefined) {
    parts.push(String(o.msg));
  }
  if (o.reqId !== undefined) parts.push(String(o.reqId));
  const msg = String(o.msg ?? '');
  for (const [k, v] of Object.entries(o)) {
    const shown = SHOWN_UP_FRONT.has(k) || v === undefined ? '' : value(v, msg);
    if (shown) parts.push(`${k}=${shown}`);
  }
  return `${parts.join(' ')}\n`;
}

/** fastify's `logger` option for a format, writing to `out` (default stderr). */
export function loggerOptions(format: LogFormat, out: LogStream = process.stderr) {
  const stream: LogStream = format === 'json' ? out : { write: (line) => out.write(formatTextLine(line)) };
  return {
    level: 'info',
    stream,
    // ISO time rather than epoch milliseconds: both formats read the same to a person and to a log collector.
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  };
}
