// The resumable, verified HTTP(S) download helper that model resolution (api.ts) is built on and
// scripts/fetch-data.js reuses. The HTTP layer (requests, redirects, error messages) lives in http.ts.
import * as crypto from 'crypto';
import * as fs from 'fs';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import {
  DEFAULT_TIMEOUT_MS,
  DownloadError,
  errorCode,
  headerValue,
  httpRequest,
  httpStatusError,
  networkError,
} from './http';

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
