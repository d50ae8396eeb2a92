// Model resolution: a folder, ./models/<name>, the Hugging Face cache (hub-cache.ts), or a download into that
// cache: the repo download flow below picks the files and turns failures into errors that say what to do, on the
// Hub API calls in hub-api.ts and the resumable, verified HTTP download in download.ts.
// This is the entry point other modules import from; it re-exports the download and cache helpers it used to hold,
// so `require('./resolve')` (scripts/fetch-data.js, the tests) still finds them here.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_TIMEOUT_MS, DownloadError, describeNetworkError } from './download';
import { encodeRepoId, fetchHubFile, fetchRevisionInfo } from './hub-api';
import {
  DEFAULT_ENDPOINT,
  REVISION,
  expandHome,
  findCachedModel,
  hfCacheDir,
  hfEndpoint,
  hfToken,
  isDirectory,
  isFile,
  isOfflineEnv,
  isRepoId,
  missingModelFiles,
  normalizeEndpoint,
  repoCacheFolder,
  shardNames,
  snapshotFolder,
  writeRef,
} from './hub-cache';
import {
  expectBoolean,
  expectKnownKeys,
  expectNonEmptyString,
  expectNonNegativeInteger,
  expectOneOf,
  expectOptionalOptions,
  expectPositiveInteger,
  invalidTypeError,
} from './is';
import { MODEL_SIZES, findPreset } from './presets';
import { createTinyQwen3 } from './tiny';

export * from './download';
export {
  DEFAULT_ENDPOINT,
  findCachedModel,
  hfCacheDir,
  hfEndpoint,
  isOfflineEnv,
  isRepoId,
  missingModelFiles,
  repoCacheFolder,
} from './hub-cache';

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
  const snapshot = snapshotFolder(repoFolder, info.sha);
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
  await writeRef(repoFolder, REVISION, info.sha);
  return snapshot;
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
