// The two errors model resolution ends with, and the messages that say what to do: what to download and where to
// put it when offline, and a fix for each way a download fails (mirror, token, offline copy).
import * as fs from 'fs';
import * as path from 'path';
import { displayPath } from '../util/paths';
import { DEFAULT_ENDPOINT, repoCacheFolder } from './cache';
import { DownloadError, describeNetworkError } from './http';

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

export function offlineMessage(
  repoId: string,
  where: { modelsDir: string; cacheDir: string; endpoint: string },
  reason = 'is not available offline'
): string {
  const name = repoId.slice(repoId.indexOf('/') + 1);
  const repoFolder = repoCacheFolder(repoId, where.cacheDir);
  const partial = fs.existsSync(repoFolder) ? ` (${repoFolder} exists but holds no complete snapshot)` : '';
  return (
    `${repoId} ${reason}${partial}. Download it on a connected machine ` +
    `(\`hf download ${repoId}\` or from ${where.endpoint}/${repoId}), then copy the folder to ` +
    `${displayPath(path.join(where.modelsDir, name))} or into ${where.cacheDir}${path.sep}` +
    `models--${repoId.split('/').join('--')} (copy that whole folder from the other machine's Hugging Face cache, ` +
    'usually ~/.cache/huggingface/hub).'
  );
}

/** Where a failed download was going, for the fix in its message. */
export interface DownloadContext {
  cacheDir: string;
  endpoint: string;
  modelsDir: string;
  hadToken: boolean;
  /** the repo file that failed; undefined for the revision request */
  file?: string;
}

export function toModelDownloadError(
  error: unknown,
  repoId: string,
  context: DownloadContext
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
