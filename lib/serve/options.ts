// What `qwen3-native serve` is told (schema.ts declares the options, their checks and defaults), resolved with the
// rules that tie options together, all checked before anything binds a port.
import * as net from 'net';
import { resolveOptions } from '../util/schema-errors';
import { API_KEY_ENV, SERVE_DEFAULTS, ServeOptionsSchema, type ServeOptions } from './schema';

export { API_KEY_ENV, LOG_FORMATS, SERVE_DEFAULTS, type LogFormat, type ServeOptions } from './schema';

/** 16 characters: 64 bits or more of a random hex key; `openssl rand -hex 32` prints 64. */
export const MIN_API_KEY_LENGTH = 16;

type Defaulted = keyof typeof SERVE_DEFAULTS | 'checkpoints';
export type ResolvedServeOptions = Required<Pick<ServeOptions, Defaulted>> & Omit<ServeOptions, Defaulted>;

/** 127.0.0.0/8, ::1 and localhost: addresses nothing outside this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/**
 * Checks the options and fills in the defaults. Rules that tie two options together are returned as problems
 * naming both (`name` turns an option name into what the user typed, e.g. the CLI's --max-texts).
 */
export function resolveServeOptions(
  options: ServeOptions,
  name: (option: string) => string = (o) => o
): ResolvedServeOptions {
  const resolved = resolveOptions(ServeOptionsSchema, options) as ResolvedServeOptions; // defaults fill the rest
  const o = { ...resolved, checkpoints: resolved.checkpoints ?? [] };

  const problems: string[] = [];
  if (o.maxTexts > o.queueLimit) {
    problems.push(
      `${name('maxTexts')} (${o.maxTexts}) is above ${name('queueLimit')} (${o.queueLimit}): a full request could never be queued`
    );
  }
  if (o.apiKey !== undefined && o.apiKey.length < MIN_API_KEY_LENGTH) {
    problems.push(
      `${name('apiKey')}: use at least ${MIN_API_KEY_LENGTH} characters (e.g. the output of \`openssl rand -hex 32\`)`
    );
  }
  if (o.apiKey === undefined && !isLoopback(o.host)) {
    problems.push(
      `${name('host')} ${o.host} is reachable from other machines: give ${name('apiKey')} (or set ${API_KEY_ENV}) so that ` +
        'only clients sending `Authorization: Bearer <key>` are answered, or bind to 127.0.0.1'
    );
  }
  if (problems.length) throw new ServeOptionsError(problems);
  return o;
}

/** Options that cannot work together; `problems` lists every one. */
export class ServeOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ServeOptionsError';
  }
}
