// The Hugging Face Hub's HTTP API as model downloads use it: a revision's commit and file list, and one repo file
// fetched into the hub cache (HEAD for the ETag and size, then the verified, resumable download of the blob).
// Failures are DownloadErrors; resolve.ts turns them into ModelDownloadError / ModelNotFoundError with a fix.
import * as fs from 'fs';
import * as path from 'path';
import { isString } from '../util/is';
import { blobFile, isSafeRepoPath, linkIntoSnapshot } from './cache';
import { isFile } from '../util/regular-file';
import { downloadFile } from './download';
import {
  DownloadError,
  headerValue,
  httpRequest,
  httpStatusError,
  isSha256Hex,
  networkError,
  normalizeEtag,
  readBody,
} from './http';

/** Download progress of one repo file. */
export interface ResolveProgress {
  /** the repo file being downloaded, e.g. 'model-00001-of-00003.safetensors' */
  file: string;
  downloaded: number;
  /** 0 while unknown */
  total: number;
}

export interface HubFileOptions {
  /** the Hub or a mirror, without a trailing slash */
  endpoint: string;
  token?: string;
  onProgress?: (progress: ResolveProgress) => void;
  /** idle socket timeout in ms */
  timeoutMs: number;
  retries?: number;
  /** the repo's cache folder, <cacheDir>/models--Org--Name */
  repoFolder: string;
  /** snapshots/<commit> inside it, where the file is linked */
  snapshot: string;
}

export function encodeRepoId(repoId: string): string {
  return repoId.split('/').map(encodeURIComponent).join('/');
}

function encodeRepoPath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

/** A revision's commit and file list, from `<endpoint>/api/models/<repo>/revision/<rev>`; retries what may pass. */
export async function fetchRevisionInfo(
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
export async function fetchHubFile(
  repoId: string,
  commit: string,
  file: string,
  options: HubFileOptions
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

  const blob = blobFile(repoFolder, etag);
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
