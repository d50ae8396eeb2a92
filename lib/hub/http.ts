// HTTP(S) requests with redirects handled by hand, and the errors the download helper (download.ts) reports.
// Why Node's http/https modules and not fetch() or @huggingface/hub: the Hub answers a request for a large file
// with a 302 to a CDN on another host, and the headers of that redirect (x-linked-etag: the file's sha256,
// x-linked-size) are what the cache layout and the verification need. Handling redirects by hand gives us those
// headers, lets us drop Authorization when a redirect leaves the original host, sets a per-socket idle timeout
// that also covers a stalled body, and streams straight to disk with `Range` resumption. fetch() hides the
// intermediate response, and @huggingface/hub's downloads do not resume partial files. No dependency is needed.
// HTTP(S)_PROXY is not honoured (neither Node's http nor its fetch do); where huggingface.co is unreachable or slow,
// HF_ENDPOINT=https://hf-mirror.com is the usual route, and it works here as it does for huggingface_hub.
import * as http from 'http';
import * as https from 'https';

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

export function errorCode(error: unknown): string | undefined {
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
  const stripped = etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  return stripped || undefined;
}

export function isSha256Hex(value: string | undefined): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/i.test(value);
}
