// Model resolution (a folder, ./models/<name>, the Hugging Face cache, or a download into that cache) and the
// resumable, verified HTTP(S) download helper it is built on, which scripts/fetch-data.js reuses.
//
// Why Node's http/https modules and not fetch() or @huggingface/hub: the Hub answers a request for a large file
// with a 302 to a CDN on another host, and the headers of that redirect (x-linked-etag: the file's sha256,
// x-linked-size) are what the cache layout and the verification need. Handling redirects by hand gives us those
// headers, lets us drop Authorization when a redirect leaves the original host, sets a per-socket idle timeout
// that also covers a stalled body, and streams straight to disk with `Range` resumption. fetch() hides the
// intermediate response, and @huggingface/hub's downloads do not resume partial files. No dependency is needed.
// HTTP(S)_PROXY is not honoured (neither Node's http nor its fetch do); where huggingface.co is unreachable or slow,
// HF_ENDPOINT=https://hf-mirror.com is the usual route, and it works here as it does for huggingface_hub.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import {
  expectBoolean,
  expectKnownKeys,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectOneOf,
  expectOptionalOptions,
  expectPositiveInteger,
  invalidRangeError,
  invalidTypeError,
} from './is';
import { MODEL_SIZES, findPreset } from './presets';
import { createTinyQwen3 } from './tiny';

// ---------------------------------------------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------------------------------------------

export type DownloadErrorKind = 'network' | 'http' | 'verify' | 'io';

/** A failed download; `kind` says whether the network, the server (with `status`), verification or the disk failed. */
export class DownloadError extends Error {
  readonly kind: DownloadErrorKind;
  readonly url: string;
  /** HTTP status for kind 'http' */
  readonly status?: number;
  /** Node's error code for kind 'network' (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, …) or the Hub's x-error-code */
  readonly code?: string;
  /** whether trying again later may succeed */
  readonly retryable: boolean;
  /** the response headers, for kind 'http' */
  readonly headers?: http.IncomingHttpHeaders;
  /** the start of the response body, for kind 'http' */
  readonly body?: string;

  constructor(
    message: string,
    details: {
      kind: DownloadErrorKind;
      url: string;
      status?: number;
      code?: string;
      retryable?: boolean;
      headers?: http.IncomingHttpHeaders;
      body?: string;
      cause?: unknown;
    }
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DownloadError';
    this.kind = details.kind;
    this.url = details.url;
    this.status = details.status;
    this.code = details.code;
    this.retryable = details.retryable ?? false;
    this.headers = details.headers;
    this.body = details.body;
  }
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** sent as `Authorization: Bearer <token>` to the original host only, never after a redirect to another host */
  token?: string;
  /** idle socket timeout in ms: connecting, waiting for headers, and any pause in the body (default 30 s) */
  timeoutMs?: number;
  /** 'all' (default), 'same-host' (stop at the first redirect to another host and return it), or 'none' */
  redirects?: 'all' | 'same-host' | 'none';
  maxRedirects?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** the URL that produced this response, after redirects */
  url: string;
  /** the headers of every response on the way, first (the URL asked for) to last */
  chain: http.IncomingHttpHeaders[];
  body: http.IncomingMessage;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
// Refused connections and unknown hosts fail at once: they mean a wrong or unreachable endpoint, not a hiccup.
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENETRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'ETRUNCATED',
]);
export const USER_AGENT = `qwen3-native; node/${process.versions.node}`;

/** Performs one request, following redirects by hand. The caller must consume or discard `body`. */
export async function httpRequest(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const { method = 'GET', token, timeoutMs = DEFAULT_TIMEOUT_MS, redirects = 'all', maxRedirects = 10 } = options;
  const origin = new URL(url);
  const chain: http.IncomingHttpHeaders[] = [];
  let current = origin;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      // Byte counts and hashes refer to the stored bytes, so never let a proxy or server compress.
      'accept-encoding': 'identity',
      ...options.headers,
    };
    if (token && current.host === origin.host && current.protocol === origin.protocol) {
      headers.authorization = `Bearer ${token}`;
    }
    const response = await requestOnce(method, current, headers, timeoutMs);
    chain.push(response.headers);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECT_STATUSES.has(status) && location && redirects !== 'none') {
      const next = new URL(location, current);
      const crossHost = next.host !== origin.host || next.protocol !== origin.protocol;
      if (!(redirects === 'same-host' && crossHost)) {
        response.resume();
        if (hop >= maxRedirects) {
          throw new DownloadError(`Too many redirects (more than ${maxRedirects}) for ${url}`, {
            kind: 'http',
            url,
            status,
          });
        }
        current = next;
        continue;
      }
    }
    return { status, headers: response.headers, url: current.toString(), chain, body: response };
  }
}

function requestOnce(
  method: string,
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number
): Promise<http.IncomingMessage> {
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!transport) {
    return Promise.reject(
      new DownloadError(`Unsupported URL protocol ${url.protocol} in ${url}`, { kind: 'http', url: url.toString() })
    );
  }
  return new Promise((resolve, reject) => {
    const request = transport.request(url, { method, headers }, (response) => resolve(response));
    request.setTimeout(timeoutMs, () => {
      const error = Object.assign(new Error(`no data for ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' });
      request.destroy(error);
    });
    request.on('error', (error) => reject(networkError(error, url.toString())));
    request.end();
  });
}

/** Wraps a socket-level error (or passes a DownloadError through). */
export function networkError(error: unknown, url: string): DownloadError {
  if (error instanceof DownloadError) return error;
  const code = errorCode(error);
  return new DownloadError(`${describeNetworkError(error, url)} (${url})`, {
    kind: 'network',
    url,
    code,
    retryable: code !== undefined && RETRYABLE_CODES.has(code),
    cause: error,
  });
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const causeCode = ((error as { cause?: { code?: unknown } } | null)?.cause as { code?: unknown } | undefined)?.code;
  return typeof causeCode === 'string' ? causeCode : undefined;
}

/** A human sentence for a socket-level failure: "connection refused by 127.0.0.1:9", "host not found: x.y". */
export function describeNetworkError(error: unknown, url: string): string {
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // keep the raw string
  }
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${host}`;
    case 'ENOTFOUND':
      return `host not found (DNS lookup failed): ${host}`;
    case 'EAI_AGAIN':
      return `DNS lookup for ${host} failed temporarily`;
    case 'ETIMEDOUT':
      return `timed out talking to ${host}: ${message}`;
    case 'ECONNRESET':
      return `connection to ${host} was reset`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `network unreachable: ${host}`;
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ETRUNCATED':
      return `connection to ${host} closed before the transfer finished`;
    default:
      if (code && /CERT|SSL|TLS/i.test(code)) return `TLS certificate problem with ${host} (${code}: ${message})`;
      return code ? `network error with ${host} (${code}: ${message})` : `network error with ${host}: ${message}`;
  }
}

/** Reads at most `limit` bytes of a body as text (for error messages and small JSON documents). */
export async function readBody(body: http.IncomingMessage, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A DownloadError for a non-success status; reads the start of the body for the server's own words. */
export async function httpStatusError(response: HttpResponse, what: string): Promise<DownloadError> {
  let body = '';
  try {
    body = await readBody(response.body, 4096);
  } catch {
    // the status is the message; the body is a bonus
  }
  const serverSays = serverMessage(body);
  const errorCode = headerValue(response.headers, 'x-error-code');
  return new DownloadError(
    `${what}: HTTP ${response.status}${errorCode ? ` ${errorCode}` : ''}` +
      `${serverSays ? ` (${serverSays})` : ''} from ${response.url}`,
    {
      kind: 'http',
      url: response.url,
      status: response.status,
      code: errorCode,
      retryable: RETRYABLE_STATUSES.has(response.status),
      headers: response.headers,
      body,
    }
  );
}

function serverMessage(body: string): string {
  const text = body.trim();
  if (!text) return '';
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    const message = parsed.error ?? parsed.message;
    if (typeof message === 'string') return message.slice(0, 300);
  } catch {
    // not JSON
  }
  return /^</.test(text) ? '' : text.replace(/\s+/g, ' ').slice(0, 300);
}

export function headerValue(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** An ETag without the weak prefix and quotes, as huggingface_hub names blobs: W/"abc" -> abc. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  const stripped = etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return stripped || undefined;
}

export function isSha256Hex(value: string | undefined): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/i.test(value);
}

export interface DownloadOptions {
  /** extra request headers */
  headers?: Record<string, string>;
  /** bearer token, sent only to the URL's own host */
  token?: string;
  /** sha256 (hex) the finished file must have; a mismatch deletes the partial file and throws kind 'verify' */
  expectedSha256?: string;
  /** size in bytes the finished file must have */
  expectedSize?: number;
  /** called as bytes arrive; total is 0 while unknown */
  onProgress?: (downloaded: number, total: number) => void;
  /** tries after the first for retryable failures without progress (default 5); progress resets the count */
  retries?: number;
  /** first retry delay in ms, doubled each time up to 15 s (default 500) */
  retryDelayMs?: number;
  /** idle socket timeout in ms (default 30 s) */
  timeoutMs?: number;
}

export interface DownloadResult {
  /** the finished file (`dest`) */
  file: string;
  size: number;
  /** sha256 of the finished file, hex */
  sha256: string;
  /** bytes already present in `<dest>.incomplete` when the call started */
  resumedFrom: number;
}

/**
 * Downloads `url` to `dest`, through `<dest>.incomplete`: an interrupted transfer (this call's, or an earlier
 * process's) continues with `Range: bytes=<have>-` and appends on 206; a server that ignores Range (200) restarts
 * the file. Checks Content-Length on every response and, when given, the final size and sha256; only a complete,
 * verified file is renamed to `dest`.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const { expectedSize, onProgress, retries = 5, retryDelayMs = 500, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const expectedSha256 = options.expectedSha256?.toLowerCase();
  const partial = `${dest}.incomplete`;
  let resumedFrom = -1;
  let hash = crypto.createHash('sha256');
  let hashed = 0;
  let failures = 0;
  let total = expectedSize ?? 0;

  for (;;) {
    let have = fileSize(partial);
    if (resumedFrom < 0) resumedFrom = have;
    if (expectedSize !== undefined && have > expectedSize) {
      await truncate(partial);
      have = 0;
    }
    if (hashed !== have) ({ hash, hashed } = await hashPrefix(partial, have));
    if (expectedSize !== undefined && have === expectedSize && have > 0) break;

    let received = 0;
    try {
      const response = await httpRequest(url, {
        headers: { ...options.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
        token: options.token,
        timeoutMs,
      });
      let append = false;
      let expectedBytes: number | undefined;
      const contentLength = parseLength(headerValue(response.headers, 'content-length'));
      if (response.status === 206 && have > 0) {
        const range = parseContentRange(headerValue(response.headers, 'content-range'));
        if (!range || range.start !== have) {
          // A range we did not ask for: start again from zero rather than guess.
          response.body.resume();
          await truncate(partial);
          ({ hash, hashed } = { hash: crypto.createHash('sha256'), hashed: 0 });
          throw new DownloadError(`Unexpected Content-Range from ${response.url}`, {
            kind: 'network',
            url,
            code: 'ETRUNCATED',
            retryable: true,
          });
        }
        append = true;
        if (range.total !== undefined) total = range.total;
        expectedBytes = range.end !== undefined ? range.end - range.start + 1 : contentLength;
      } else if (response.status === 416 && have > 0) {
        response.body.resume();
        const range = parseContentRange(headerValue(response.headers, 'content-range'));
        if (range?.total === have) break; // the partial file already holds everything
        await truncate(partial);
        ({ hash, hashed } = { hash: crypto.createHash('sha256'), hashed: 0 });
        throw new DownloadError(`Server refused to resume ${url} (HTTP 416)`, {
          kind: 'http',
          url,
          status: 416,
          retryable: true,
        });
      } else if (response.status === 200) {
        if (have > 0) ({ hash, hashed } = { hash: crypto.createHash('sha256'), hashed: 0 });
        have = 0;
        expectedBytes = contentLength;
        if (contentLength !== undefined) total = contentLength;
      } else {
        throw await httpStatusError(response, `Download of ${url} failed`);
      }

      if (expectedSize !== undefined && total !== expectedSize && total !== 0) {
        response.body.resume();
        throw new DownloadError(
          `Size mismatch for ${url}: the server sends ${total} bytes but ${expectedSize} were expected`,
          { kind: 'verify', url }
        );
      }
      const startAt = have;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          hashed += chunk.length;
          received += chunk.length;
          if (onProgress) onProgress(startAt + received, total);
          callback(null, chunk);
        },
      });
      onProgress?.(startAt, total);
      await pipeline(response.body, counter, fs.createWriteStream(partial, { flags: append ? 'a' : 'w' }));
      if (expectedBytes !== undefined && received !== expectedBytes) {
        throw new DownloadError(`Connection closed after ${received} of ${expectedBytes} bytes of ${url}`, {
          kind: 'network',
          url,
          code: 'ETRUNCATED',
          retryable: true,
        });
      }
      break;
    } catch (error) {
      const failure = error instanceof DownloadError ? error : toDownloadError(error, url);
      if (failure.kind === 'verify') await removeQuietly(partial);
      if (!failure.retryable) throw failure;
      failures = received > 0 ? 1 : failures + 1;
      if (failures > retries) throw failure;
      await sleep(Math.min(15_000, retryDelayMs * 2 ** (failures - 1)));
    }
  }

  const size = fileSize(partial);
  if (hashed !== size) ({ hash, hashed } = await hashPrefix(partial, size));
  const sha256 = hash.digest('hex');
  if (expectedSize !== undefined && size !== expectedSize) {
    await removeQuietly(partial);
    throw new DownloadError(`Size mismatch for ${url}: received ${size} bytes, expected ${expectedSize}`, {
      kind: 'verify',
      url,
    });
  }
  if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
    await removeQuietly(partial);
    throw new DownloadError(
      `Checksum mismatch for ${url}: sha256 ${sha256}, expected ${expectedSha256}. ` +
        'The partial file was deleted; run again to download it afresh.',
      { kind: 'verify', url }
    );
  }
  await fs.promises.rename(partial, dest);
  return { file: dest, size, sha256, resumedFrom };
}

function toDownloadError(error: unknown, url: string): DownloadError {
  const code = errorCode(error);
  if (code && /^E(NOSPC|ACCES|PERM|ROFS|DQUOT|NOENT|ISDIR|MFILE)$/.test(code)) {
    return new DownloadError(`Could not write the download of ${url}: ${(error as Error).message}`, {
      kind: 'io',
      url,
      code,
      cause: error,
    });
  }
  return networkError(error, url);
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

async function truncate(file: string): Promise<void> {
  await fs.promises.writeFile(file, '');
}

async function removeQuietly(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true });
}

/** A sha256 state over the first `length` bytes of `file` (the part an interrupted transfer left). */
async function hashPrefix(file: string, length: number): Promise<{ hash: crypto.Hash; hashed: number }> {
  const hash = crypto.createHash('sha256');
  if (length > 0) {
    for await (const chunk of fs.createReadStream(file, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
  }
  return { hash, hashed: length };
}

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

// "bytes 100-199/1000" -> {start: 100, end: 199, total: 1000};
// "bytes *" + "/1000" (what a 416 carries) -> {start: NaN, total: 1000}.
export function parseContentRange(
  value: string | undefined
): { start: number; end?: number; total?: number } | undefined {
  if (!value) return undefined;
  const match = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!match) return undefined;
  return {
    start: match[1] === undefined ? Number.NaN : Number(match[1]),
    end: match[2] === undefined ? undefined : Number(match[2]),
    total: match[3] === '*' ? undefined : Number(match[3]),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------------------------
// Model resolution: a folder, ./models/<name>, the Hugging Face cache, or a download into that cache.
// ---------------------------------------------------------------------------------------------------------------

export type ModelSource = 'local' | 'models' | 'cache' | 'download';
export type ModelKind = 'causal' | 'embedding';

export interface ResolveProgress {
  /** the repo file being downloaded, e.g. 'model-00001-of-00003.safetensors' */
  file: string;
  downloaded: number;
  /** 0 while unknown */
  total: number;
}

export interface ResolveOptions {
  /** never touch the network (default: env HF_HUB_OFFLINE is 1/true/yes/on) */
  offline?: boolean;
  /** the Hugging Face hub cache (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub) */
  cacheDir?: string;
  /** folder of plain model folders (default: path.resolve('models')) */
  modelsDir?: string;
  /** the Hub or a mirror (default: HF_ENDPOINT, else https://huggingface.co) */
  endpoint?: string;
  /** access token for gated or private repos (default: HF_TOKEN, else the token file huggingface-cli login wrote) */
  token?: string;
  onProgress?: (progress: ResolveProgress) => void;
  /** which family a bare size ('0.6B') or 'tiny' means (default 'causal') */
  kind?: ModelKind;
  /** idle socket timeout in ms (default: HF_HUB_DOWNLOAD_TIMEOUT seconds, else 30 s) */
  timeoutMs?: number;
  /** retries of a stalled or dropped transfer (default 5; a retry that makes progress resets the count) */
  retries?: number;
}

export interface ResolvedModel {
  /** absolute path of a folder holding config.json, tokenizer files and safetensors weights */
  dir: string;
  source: ModelSource;
  /** the Hugging Face repo id, when the model came from the cache or a download */
  repoId?: string;
}

/** The model is not where the spec says, and could not (or may not) be fetched. The message says what to do. */
export class ModelNotFoundError extends Error {
  readonly spec: string;
  readonly repoId?: string;
  constructor(message: string, spec: string, repoId?: string) {
    super(message);
    this.name = 'ModelNotFoundError';
    this.spec = spec;
    this.repoId = repoId;
  }
}

/** Fetching from the Hub (or the mirror in HF_ENDPOINT) failed; the message names endpoint, repo, cause and a fix. */
export class ModelDownloadError extends Error {
  readonly repoId: string;
  readonly endpoint: string;
  /** 'network' (unreachable, reset, timed out), 'auth' (401/403: gated or private), 'http', 'verify', 'io' */
  readonly reason: 'network' | 'auth' | 'http' | 'verify' | 'io';
  readonly status?: number;
  readonly code?: string;
  constructor(
    message: string,
    details: {
      repoId: string;
      endpoint: string;
      reason: ModelDownloadError['reason'];
      status?: number;
      code?: string;
      cause?: unknown;
    }
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ModelDownloadError';
    this.repoId = details.repoId;
    this.endpoint = details.endpoint;
    this.reason = details.reason;
    this.status = details.status;
    this.code = details.code;
  }
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
const RESOLVE_OPTION_KEYS = [
  'offline',
  'cacheDir',
  'modelsDir',
  'endpoint',
  'token',
  'onProgress',
  'kind',
  'timeoutMs',
  'retries',
] as const;
const MODEL_KINDS: readonly ModelKind[] = ['causal', 'embedding'];
const TINY_SPECS: Record<string, ModelKind> = { tiny: 'causal', 'tiny-embedding': 'embedding' };
const REVISION = 'main';

/** HF_HUB_OFFLINE as huggingface_hub reads it: 1, true, yes, on (any case). */
export function isOfflineEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|on)$/i.test((env.HF_HUB_OFFLINE ?? '').trim());
}

/** The hub cache huggingface_hub uses: HF_HUB_CACHE, HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/… */
export function hfCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return path.resolve(expandHome(env.HF_HUB_CACHE));
  if (env.HUGGINGFACE_HUB_CACHE) return path.resolve(expandHome(env.HUGGINGFACE_HUB_CACHE));
  return path.join(hfHome(env), 'hub');
}

function hfHome(env: NodeJS.ProcessEnv): string {
  if (env.HF_HOME) return path.resolve(expandHome(env.HF_HOME));
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.resolve(xdg, 'huggingface');
}

/** HF_ENDPOINT without trailing slashes (https://huggingface.co when unset). */
export function hfEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return normalizeEndpoint(env.HF_ENDPOINT || DEFAULT_ENDPOINT, 'HF_ENDPOINT');
}

function normalizeEndpoint(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidRangeError('http(s) URL', name, value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidRangeError('http(s) URL', name, value);
  return value.replace(/\/+$/, '');
}

/** options.token, else HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN), else the file `huggingface-cli login` wrote. */
function hfToken(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  if (fromEnv) return fromEnv.trim();
  const tokenFile = env.HF_TOKEN_PATH ? expandHome(env.HF_TOKEN_PATH) : path.join(hfHome(env), 'token');
  try {
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    return token || undefined;
  } catch {
    return undefined;
  }
}

function expandHome(file: string): string {
  const home = file === '~' || file.startsWith('~/') || file.startsWith('~\\');
  return home ? path.join(os.homedir(), file.slice(1)) : file;
}

/** 'Org/Name' with Hugging Face's allowed characters. */
export function isRepoId(spec: string): boolean {
  return (
    typeof spec === 'string' &&
    /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(spec) &&
    !spec.includes('--') &&
    !spec.includes('..') &&
    spec.length <= 96
  );
}

/** The cache folder of a repo: <cacheDir>/models--Org--Name. */
export function repoCacheFolder(repoId: string, cacheDir: string): string {
  return path.join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

/** What a folder lacks to be loadable: config.json, tokenizer.json, and the safetensors weights (all shards). */
export function missingModelFiles(dir: string): string[] {
  const missing: string[] = [];
  for (const file of ['config.json', 'tokenizer.json']) if (!isFile(path.join(dir, file))) missing.push(file);
  if (isFile(path.join(dir, 'model.safetensors'))) return missing;
  const index = path.join(dir, 'model.safetensors.index.json');
  if (!isFile(index)) return [...missing, 'model.safetensors'];
  try {
    for (const shard of shardNames(JSON.parse(fs.readFileSync(index, 'utf8')))) {
      if (!isFile(path.join(dir, shard))) missing.push(shard);
    }
  } catch {
    missing.push('model.safetensors.index.json (unreadable)');
  }
  return missing;
}

function shardNames(index: unknown): string[] {
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (!weightMap || typeof weightMap !== 'object') throw new Error('model.safetensors.index.json has no weight_map');
  const names = [...new Set(Object.values(weightMap as Record<string, unknown>))];
  for (const name of names) {
    if (typeof name !== 'string' || !isSafeRepoPath(name)) throw new Error(`bad shard name ${JSON.stringify(name)}`);
  }
  return (names as string[]).sort();
}

function isSafeRepoPath(name: string): boolean {
  return name.length > 0 && !path.isAbsolute(name) && !name.split(/[\\/]/).some((part) => part === '..' || part === '');
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A complete snapshot of `repoId` in the hub cache, or undefined. Prefers refs/main; otherwise the newest complete
 * snapshot (a `huggingface-cli download --revision <sha>` leaves no refs/main). Also accepts a plain model folder
 * copied to <cacheDir>/models--Org--Name.
 */
export function findCachedModel(repoId: string, cacheDir: string): { dir: string; commit?: string } | undefined {
  const repoFolder = repoCacheFolder(repoId, cacheDir);
  const snapshots = path.join(repoFolder, 'snapshots');
  const commit = readRef(repoFolder, REVISION);
  if (commit && missingModelFiles(path.join(snapshots, commit)).length === 0) {
    return { dir: path.join(snapshots, commit), commit };
  }
  let candidates: { name: string; mtime: number }[] = [];
  try {
    candidates = fs
      .readdirSync(snapshots)
      .filter((name) => isDirectory(path.join(snapshots, name)))
      .map((name) => ({ name, mtime: fs.statSync(path.join(snapshots, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
  } catch {
    // no snapshots folder
  }
  for (const { name } of candidates) {
    const dir = path.join(snapshots, name);
    if (missingModelFiles(dir).length === 0) return { dir, commit: name };
  }
  if (missingModelFiles(repoFolder).length === 0) return { dir: repoFolder };
  return undefined;
}

function readRef(repoFolder: string, revision: string): string | undefined {
  try {
    const commit = fs.readFileSync(path.join(repoFolder, 'refs', revision), 'utf8').trim();
    return /^[0-9a-f]{40}$/i.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds a Qwen3 checkpoint folder, in this order:
 *  1. `spec` is a folder holding config.json (source 'local');
 *  2. `<modelsDir>/<spec>` (or, for a repo id Org/Name, `<modelsDir>/Name`) holds config.json ('models');
 *  3. `spec` is a repo id ('Qwen/Qwen3-0.6B'; a size '0.6B' or a name 'Qwen3-0.6B' maps to the Qwen repo) with a
 *     complete snapshot in the Hugging Face cache ('cache');
 *  4. otherwise downloads it from the Hub (HF_ENDPOINT, HF_TOKEN) into that cache, in huggingface_hub's layout so
 *     Python tools reuse it ('download'). Never with `offline` or HF_HUB_OFFLINE: then a ModelNotFoundError says
 *     what to download and where to put it.
 * `tiny` / `tiny-embedding` name a tiny random model generated on first use in `<modelsDir>/tiny[-embedding]`.
 * Network failures throw ModelDownloadError with the endpoint, repo, cause and a fix in the message.
 */
export async function resolveModel(spec: string, options?: ResolveOptions): Promise<ResolvedModel> {
  expectNonEmptyString(spec, 'spec');
  const settings = expectOptionalOptions(options);
  expectKnownKeys(settings, 'options', RESOLVE_OPTION_KEYS);
  const { kind = 'causal', onProgress } = settings;
  expectOneOf(kind, 'options.kind', MODEL_KINDS);
  if (settings.offline !== undefined) expectBoolean(settings.offline, 'options.offline');
  for (const key of ['cacheDir', 'modelsDir', 'endpoint', 'token'] as const) {
    if (settings[key] !== undefined) expectNonEmptyString(settings[key], `options.${key}`);
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw invalidTypeError('function', 'options.onProgress', onProgress);
  }
  if (settings.timeoutMs !== undefined) expectPositiveInteger(settings.timeoutMs, 'options.timeoutMs');
  if (settings.retries !== undefined) expectNonNegativeInteger(settings.retries, 'options.retries');

  const env = process.env;
  const offline = settings.offline ?? isOfflineEnv(env);
  const modelsDir = path.resolve(expandHome(settings.modelsDir ?? 'models'));
  const cacheDir = settings.cacheDir ? path.resolve(expandHome(settings.cacheDir)) : hfCacheDir(env);
  const endpoint = settings.endpoint ? normalizeEndpoint(settings.endpoint, 'options.endpoint') : hfEndpoint(env);
  const trimmed = spec.trim();

  // tiny models: generated, never downloaded
  const tinyKind = TINY_SPECS[trimmed];
  if (tinyKind) {
    const effectiveKind = trimmed === 'tiny' ? kind : tinyKind;
    const name = effectiveKind === 'causal' ? 'tiny' : 'tiny-embedding';
    return { dir: await ensureTinyModel(path.join(modelsDir, name), effectiveKind), source: 'local' };
  }

  // 1. a folder
  const asPath = path.resolve(expandHome(trimmed));
  if (isFile(path.join(asPath, 'config.json'))) return { dir: asPath, source: 'local' };
  if (looksLikePath(trimmed)) {
    const why = isDirectory(asPath) ? 'has no config.json' : 'does not exist';
    throw new ModelNotFoundError(
      `Model folder ${asPath} ${why}. A model folder holds config.json, tokenizer.json and model.safetensors ` +
        '(or model.safetensors.index.json and its shards), as downloaded from Hugging Face.',
      spec
    );
  }

  // 2. ./models/<spec>, and ./models/<Name> for Org/Name or a preset
  const preset = findPreset(trimmed, kind);
  const repoId = preset ? preset.repoId : isRepoId(trimmed) ? trimmed : undefined;
  const names = [trimmed];
  if (repoId) names.push(repoId.slice(repoId.indexOf('/') + 1), repoId);
  for (const name of names) {
    const dir = path.join(modelsDir, name);
    if (isFile(path.join(dir, 'config.json'))) return { dir, source: 'models' };
  }
  if (!repoId) {
    const available = listModelFolders(modelsDir);
    throw new ModelNotFoundError(
      `${JSON.stringify(spec)} is not a model folder, not a folder under ${displayPath(modelsDir)}` +
        `${available.length ? ` (which has: ${available.join(', ')})` : ''}, and not a Hugging Face repo id ` +
        `(Org/Name such as Qwen/Qwen3-0.6B). Sizes: ${MODEL_SIZES.join(', ')}; or 'tiny' for a tiny random model.`,
      spec
    );
  }

  // 3. the Hugging Face cache
  const cached = findCachedModel(repoId, cacheDir);
  if (cached) return { dir: cached.dir, source: 'cache', repoId };

  // 4. download
  if (offline) throw new ModelNotFoundError(offlineMessage(repoId, { modelsDir, cacheDir, endpoint }), spec, repoId);
  const token = settings.token ?? hfToken(env);
  const timeoutMs = settings.timeoutMs ?? envTimeoutMs(env) ?? DEFAULT_TIMEOUT_MS;
  const dir = await downloadModel(repoId, {
    cacheDir,
    endpoint,
    token,
    onProgress,
    timeoutMs,
    retries: settings.retries,
    modelsDir,
  });
  return { dir, source: 'download', repoId };
}

function envTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  const seconds = Number(env.HF_HUB_DOWNLOAD_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : undefined;
}

function looksLikePath(spec: string): boolean {
  return path.isAbsolute(spec) || /^(\.{1,2}|~)([\\/]|$)/.test(spec) || spec.includes('\\');
}

function listModelFolders(modelsDir: string): string[] {
  try {
    return fs
      .readdirSync(modelsDir)
      .filter((name) => isFile(path.join(modelsDir, name, 'config.json')))
      .sort();
  } catch {
    return [];
  }
}

/** './models' for folders under the working directory, the absolute path otherwise. */
function displayPath(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  if (relative === '') return '.';
  return relative.startsWith('..') || path.isAbsolute(relative) ? dir : `.${path.sep}${relative}`;
}

function offlineMessage(
  repoId: string,
  where: { modelsDir: string; cacheDir: string; endpoint: string },
  reason = 'is not available offline'
): string {
  const name = repoId.slice(repoId.indexOf('/') + 1);
  const repoFolder = repoCacheFolder(repoId, where.cacheDir);
  const partial = fs.existsSync(repoFolder) ? ` (${repoFolder} exists but holds no complete snapshot)` : '';
  return (
    `${repoId} ${reason}${partial}. Download it on a connected machine ` +
    `(\`huggingface-cli download ${repoId}\` or from ${where.endpoint}/${repoId}), then copy the folder to ` +
    `${displayPath(path.join(where.modelsDir, name))} or into ${where.cacheDir}${path.sep}` +
    `models--${repoId.split('/').join('--')} (copy that whole folder from the other machine's Hugging Face cache, ` +
    'usually ~/.cache/huggingface/hub).'
  );
}

/** Creates the tiny model in a sibling temp folder and renames it into place, so concurrent first uses are safe. */
async function ensureTinyModel(dir: string, kind: ModelKind): Promise<string> {
  if (missingModelFiles(dir).length === 0) return dir;
  await fs.promises.mkdir(path.dirname(dir), { recursive: true });
  const temporary = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    await createTinyQwen3(temporary, { kind, seed: 0 });
    if (fs.existsSync(dir)) await fs.promises.rm(dir, { recursive: true, force: true }); // an incomplete leftover
    await fs.promises.rename(temporary, dir);
  } catch (error) {
    await fs.promises.rm(temporary, { recursive: true, force: true });
    if (missingModelFiles(dir).length !== 0) throw error; // nobody else produced it
  }
  return dir;
}

interface DownloadModelOptions {
  cacheDir: string;
  endpoint: string;
  token?: string;
  onProgress?: (progress: ResolveProgress) => void;
  timeoutMs: number;
  retries?: number;
  modelsDir: string;
}

/** The files of a repo this package needs, from the revision's file list. */
function filesToFetch(siblings: string[]): { files: string[]; index?: string } {
  const present = new Set(siblings);
  const files = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'].filter((file) =>
    present.has(file)
  );
  if (present.has('model.safetensors')) return { files: [...files, 'model.safetensors'] };
  if (present.has('model.safetensors.index.json')) return { files, index: 'model.safetensors.index.json' };
  return { files };
}

/** Downloads what `repoId` needs into the hub cache and returns snapshots/<commit>. */
async function downloadModel(repoId: string, options: DownloadModelOptions): Promise<string> {
  const { cacheDir, endpoint, token, timeoutMs } = options;
  const fail = (error: unknown, file?: string): never => {
    throw toModelDownloadError(error, repoId, { ...options, hadToken: Boolean(token), file });
  };

  // The revision: its commit and file list.
  const apiUrl = `${endpoint}/api/models/${encodeRepoId(repoId)}/revision/${encodeURIComponent(REVISION)}`;
  let info: { sha: string; siblings: string[] };
  try {
    info = await fetchRevisionInfo(apiUrl, token, timeoutMs, options.retries ?? 2);
  } catch (error) {
    return fail(error);
  }
  const { files, index } = filesToFetch(info.siblings);
  if (!files.includes('config.json') || (!index && !files.includes('model.safetensors'))) {
    throw new ModelDownloadError(
      `${repoId} on ${endpoint} is not a Qwen3 checkpoint this package can load: it lacks ` +
        `${files.includes('config.json') ? 'safetensors weights (model.safetensors or its index)' : 'config.json'}.`,
      { repoId, endpoint, reason: 'http' }
    );
  }

  const repoFolder = repoCacheFolder(repoId, cacheDir);
  const snapshot = path.join(repoFolder, 'snapshots', info.sha);
  const fetchOne = async (file: string): Promise<void> => {
    try {
      await fetchHubFile(repoId, info.sha, file, { ...options, repoFolder, snapshot });
    } catch (error) {
      fail(error, file);
    }
  };
  for (const file of files) await fetchOne(file);
  if (index) {
    await fetchOne(index);
    let shards: string[];
    try {
      shards = shardNames(JSON.parse(await fs.promises.readFile(path.join(snapshot, index), 'utf8')));
    } catch (error) {
      throw new ModelDownloadError(`${repoId}: ${index} is not valid: ${(error as Error).message}`, {
        repoId,
        endpoint,
        reason: 'verify',
        cause: error,
      });
    }
    const missing = shards.filter((shard) => !info.siblings.includes(shard));
    if (missing.length) {
      throw new ModelDownloadError(`${repoId}: ${index} names shards the repo does not have: ${missing.join(', ')}`, {
        repoId,
        endpoint,
        reason: 'verify',
      });
    }
    for (const shard of shards) await fetchOne(shard);
  }
  await fs.promises.mkdir(path.join(repoFolder, 'refs'), { recursive: true });
  await fs.promises.writeFile(path.join(repoFolder, 'refs', REVISION), info.sha);
  return snapshot;
}

function encodeRepoId(repoId: string): string {
  return repoId.split('/').map(encodeURIComponent).join('/');
}

function encodeRepoPath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

async function fetchRevisionInfo(
  url: string,
  token: string | undefined,
  timeoutMs: number,
  retries: number
): Promise<{ sha: string; siblings: string[] }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await httpRequest(url, { token, timeoutMs, headers: { accept: 'application/json' } });
      if (response.status !== 200) throw await httpStatusError(response, 'Repository lookup failed');
      const text = await readBody(response.body, 64 << 20);
      let parsed: { sha?: unknown; siblings?: unknown };
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new DownloadError(`The answer from ${url} is not JSON (is HF_ENDPOINT a Hugging Face mirror?)`, {
          kind: 'http',
          url,
          status: 200,
        });
      }
      const sha = parsed.sha;
      const siblings = Array.isArray(parsed.siblings)
        ? parsed.siblings.map((entry) => (entry as { rfilename?: unknown })?.rfilename).filter(isString)
        : undefined;
      if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/i.test(sha) || !siblings) {
        throw new DownloadError(`The answer from ${url} lacks a commit sha or a file list`, {
          kind: 'http',
          url,
          status: 200,
        });
      }
      return { sha: sha.toLowerCase(), siblings: siblings.filter(isSafeRepoPath) };
    } catch (error) {
      const failure = error instanceof DownloadError ? error : networkError(error, url);
      if (!failure.retryable || attempt >= retries) throw failure;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }
}

/**
 * One file into the cache: HEAD (following same-host redirects only, like huggingface_hub) for the etag and size
 * the Hub puts on its CDN redirect; the blob is `blobs/<etag>`, downloaded unless present, sha256-verified when
 * the etag is one (LFS files), size-verified otherwise; then `snapshots/<commit>/<file>` links to it.
 */
async function fetchHubFile(
  repoId: string,
  commit: string,
  file: string,
  options: DownloadModelOptions & { repoFolder: string; snapshot: string }
): Promise<void> {
  const { endpoint, token, timeoutMs, repoFolder, snapshot, onProgress } = options;
  const target = path.join(snapshot, file);
  if (isFile(target)) return;
  const url = `${endpoint}/${encodeRepoId(repoId)}/resolve/${commit}/${encodeRepoPath(file)}`;

  const head = await httpRequest(url, { method: 'HEAD', token, timeoutMs, redirects: 'same-host' });
  head.body.resume();
  if (head.status >= 400) throw await httpStatusError(head, `Download of ${file} failed`);
  const etag = normalizeEtag(headerValue(head.headers, 'x-linked-etag') ?? headerValue(head.headers, 'etag'));
  const sizeHeader = headerValue(head.headers, 'x-linked-size') ?? headerValue(head.headers, 'content-length');
  const expectedSize = sizeHeader !== undefined && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
  if (!etag || !/^[\w.-]+$/.test(etag)) {
    throw new DownloadError(
      `${url} sent no usable ETag, which the cache needs to name the file (is HF_ENDPOINT a Hugging Face mirror?)`,
      { kind: 'http', url, status: head.status }
    );
  }

  const blob = path.join(repoFolder, 'blobs', etag);
  if (!isFile(blob)) {
    await fs.promises.mkdir(path.dirname(blob), { recursive: true });
    const report = onProgress
      ? (downloaded: number, total: number) => onProgress({ file, downloaded, total: total || expectedSize || 0 })
      : undefined;
    await downloadFile(url, blob, {
      token,
      timeoutMs,
      retries: options.retries,
      expectedSha256: isSha256Hex(etag) ? etag : undefined,
      // Sizes from a HEAD are exact for LFS files (x-linked-size); for small files only when not compressed.
      expectedSize: file.endsWith('.safetensors') || isSha256Hex(etag) ? expectedSize : undefined,
      onProgress: report,
    });
  }
  await linkIntoSnapshot(blob, target);
}

/** snapshots/<commit>/<file> -> ../../blobs/<etag> as a relative symlink, or a copy where symlinks fail. */
async function linkIntoSnapshot(blob: string, target: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  await fs.promises.rm(target, { force: true });
  try {
    await fs.promises.symlink(path.relative(path.dirname(target), blob), target);
  } catch {
    await fs.promises.copyFile(blob, target);
  }
}

function toModelDownloadError(
  error: unknown,
  repoId: string,
  context: DownloadModelOptions & { hadToken: boolean; file?: string }
): ModelDownloadError | ModelNotFoundError {
  if (error instanceof ModelDownloadError || error instanceof ModelNotFoundError) return error;
  const { endpoint, modelsDir } = context;
  const name = repoId.slice(repoId.indexOf('/') + 1);
  const what = context.file ? `${context.file} of ${repoId}` : repoId;
  const localHint = `${displayPath(path.join(modelsDir, name))}`;
  if (!(error instanceof DownloadError)) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    return new ModelDownloadError(`Could not store ${what} in ${context.cacheDir}: ${message}`, {
      repoId,
      endpoint,
      reason: 'io',
      code: typeof code === 'string' ? code : undefined,
      cause: error,
    });
  }
  const common = { repoId, endpoint, status: error.status, code: error.code, cause: error };
  switch (error.kind) {
    case 'network':
      return new ModelDownloadError(
        `Could not download ${what} from ${endpoint}: ${describeNetworkError(error.cause ?? error, error.url)}. ` +
          (endpoint === DEFAULT_ENDPOINT
            ? 'If huggingface.co is blocked or slow where you are, set HF_ENDPOINT to a mirror '
            : `Check HF_ENDPOINT (now ${endpoint}), unset it for https://huggingface.co, or set it to a mirror `) +
          '(for example HF_ENDPOINT=https://hf-mirror.com); or copy the model to ' +
          `${localHint} on this machine and run with --offline (HF_HUB_OFFLINE=1).` +
          (context.file ? ' The part already downloaded is kept and resumed on the next try.' : ''),
        { ...common, reason: 'network' }
      );
    case 'verify':
      return new ModelDownloadError(`Downloaded ${what} from ${endpoint} is corrupt: ${error.message}`, {
        ...common,
        reason: 'verify',
      });
    case 'io':
      return new ModelDownloadError(`Could not store ${what}: ${error.message}`, { ...common, reason: 'io' });
    case 'http':
      break;
  }
  const status = error.status ?? 0;
  if (error.code === 'RepoNotFound' || (status === 404 && !context.file)) {
    return new ModelNotFoundError(
      `${repoId} was not found on ${endpoint}` +
        `${context.hadToken ? '' : ' (or it is private: set HF_TOKEN to a token that can read it)'}. ` +
        'Check the spelling (for example Qwen/Qwen3-0.6B or Qwen/Qwen3-Embedding-0.6B).',
      repoId,
      repoId
    );
  }
  if (status === 401 || status === 403) {
    const gated = error.code === 'GatedRepo' || /gated|restricted|access/i.test(error.body ?? '');
    const fix = context.hadToken
      ? 'The token given (options.token / HF_TOKEN) was refused: check it has read access and, for a gated repo, ' +
        `that its account accepted the conditions at ${endpoint}/${repoId}.`
      : `Accept the conditions at ${endpoint}/${repoId} while logged in, create a read token at ` +
        `${endpoint}/settings/tokens and set HF_TOKEN to it.`;
    return new ModelDownloadError(
      `Access to ${what} on ${endpoint} was denied (HTTP ${status}${gated ? ', gated repo' : ''}). ${fix}`,
      { ...common, reason: 'auth' }
    );
  }
  return new ModelDownloadError(
    `Could not download ${what} from ${endpoint}: ${error.message}. ` +
      'If the Hub is failing, try again later or set HF_ENDPOINT to a mirror (for example https://hf-mirror.com).',
    { ...common, reason: 'http' }
  );
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}
