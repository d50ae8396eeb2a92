// What `qwen3-native serve` can be told, its defaults (written once: the CLI's help prints these), and the checks
// that run before anything binds a port. Every limit here exists to bound memory or a client's wait, never by taste:
// the comment beside each says which number decided it.
import * as net from 'net';
import * as os from 'os';
import { DTYPE_OPTIONS, expectDevice, type DeviceOption, type DTypeOption } from '../qwen3/runtime';
import {
  expectBoolean,
  expectKnownKeys,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectNumberInRange,
  expectOneOf,
  expectPlainObject,
  expectPositiveInteger,
  expectStringArray,
} from '../util/is';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The environment variable that may hold the API key (a flag shows in `ps`; the environment does not). */
export const API_KEY_ENV = 'QWEN3_NATIVE_API_KEY';
/** 16 characters: 64 bits or more of a random hex key; `openssl rand -hex 32` prints 64. */
export const MIN_API_KEY_LENGTH = 16;

export const SERVE_DEFAULTS = Object.freeze({
  /** loopback only: nothing outside this machine can reach the server unless asked for */
  host: '127.0.0.1',
  port: 8080,
  /**
   * Most texts merged into one Predictor.predict call, which is one native call: the core runs it in forward passes
   * of at most 32 texts by length, so this bounds a request's wait, not memory. 64: calls of 64 texts gave 3,300
   * texts/s against 2,000 for calls of 32 and 3,500 for 128 (tiny model, posts cut to 48 tokens, Predictor alone on
   * this 2-core CPU). 1 turns batching off.
   */
  maxBatchSize: 64,
  /**
   * How long the first text in an idle queue waits for company before its batch starts. While a batch runs the queue
   * fills anyway, so this only costs latency when the server is idle: 2 ms is under one tiny-model call (2.3 ms for one
   * text) and far under one 0.6B call.
   */
  maxWaitMs: 2,
  /** Texts waiting (not yet in a batch) across all models; past it requests get 503 + Retry-After. */
  queueLimit: 1024,
  /** Texts in one request. */
  maxTexts: 128,
  /**
   * Characters in one text. The model reads at most the run's maxLength tokens (256 by default) of it anyway; 2,000
   * characters covers a long Weibo post and bounds the tokenizer's work for one text.
   */
  maxTextLength: 2000,
  /**
   * Bytes in one request body. 128 texts of 2,000 Chinese characters (3 bytes each in UTF-8) are 768 KB, so 1 MiB
   * admits every request that the limits above admit.
   */
  bodyLimit: 1024 * 1024,
  logFormat: 'text' as LogFormat,
  /**
   * Intra-op threads of the models: every core, as for every command. Fewer leave cores to the JS thread (HTTP, JSON,
   * tokenizing), which pays when the model is tiny and requests are many, or when other processes share the cores:
   * on this 2-core machine under a load average of 5, single-text calls of the tiny model ran 13 texts/s with 2 threads
   * and 129 with 1 (an OpenMP team waits for its slowest thread, and a busy machine deschedules one).
   */
  threads: os.availableParallelism(),
});

export interface ServeOptions {
  /** run folders to serve (each named by its folder's name) */
  checkpoints?: string[];
  /** base model override for every run (folder, hub id, 'tiny') */
  model?: string;
  device?: DeviceOption;
  dtype?: DTypeOption;
  offline?: boolean;
  host?: string;
  /** 0: any free port (the bound address is logged) */
  port?: number;
  maxBatchSize?: number;
  maxWaitMs?: number;
  queueLimit?: number;
  maxTexts?: number;
  maxTextLength?: number;
  bodyLimit?: number;
  /** requires `Authorization: Bearer <apiKey>` on every route but /healthz and /readyz */
  apiKey?: string;
  logFormat?: LogFormat;
  /** intra-op threads of the models (libtorch's, for the whole process) */
  threads?: number;
}

export type ResolvedServeOptions = Required<Omit<ServeOptions, 'model' | 'device' | 'dtype' | 'offline' | 'apiKey'>> &
  Pick<ServeOptions, 'model' | 'device' | 'dtype' | 'offline' | 'apiKey'>;

const KEYS = [
  'checkpoints',
  'model',
  'device',
  'dtype',
  'offline',
  'host',
  'port',
  'maxBatchSize',
  'maxWaitMs',
  'queueLimit',
  'maxTexts',
  'maxTextLength',
  'bodyLimit',
  'apiKey',
  'logFormat',
  'threads',
] as const;

/** A wait longer than a minute is a mistake, not a batching policy. */
const MAX_WAIT_MS = 60_000;

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
  expectPlainObject(options, 'options');
  expectKnownKeys(options, 'options', KEYS);
  if (options.checkpoints !== undefined) expectStringArray(options.checkpoints, 'checkpoints');
  if (options.model !== undefined) expectNonEmptyString(options.model, 'model');
  if (options.device !== undefined) expectDevice(options.device, 'device');
  if (options.dtype !== undefined) expectOneOf(options.dtype, 'dtype', DTYPE_OPTIONS);
  if (options.offline !== undefined) expectBoolean(options.offline, 'offline');
  if (options.host !== undefined) expectNonEmptyString(options.host, 'host');
  if (options.port !== undefined) expectNumberInRange(options.port, 'port', 0, 65535);
  if (options.port !== undefined) expectNonNegativeInteger(options.port, 'port');
  for (const k of ['maxBatchSize', 'queueLimit', 'maxTexts', 'maxTextLength', 'bodyLimit', 'threads'] as const) {
    if (options[k] !== undefined) expectPositiveInteger(options[k], k);
  }
  if (options.maxWaitMs !== undefined) expectNumberInRange(options.maxWaitMs, 'maxWaitMs', 0, MAX_WAIT_MS);
  if (options.apiKey !== undefined) expectNonEmptyString(options.apiKey, 'apiKey');
  if (options.logFormat !== undefined) expectOneOf(options.logFormat, 'logFormat', LOG_FORMATS);
  const o: ResolvedServeOptions = { ...SERVE_DEFAULTS, checkpoints: [], ...stripUndefined(options) };

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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
