// Model resolution: a folder, ./models/<name>, the Hugging Face cache (cache.ts), or a download into that cache
// (the repo download flow below picks the files; api.ts fetches them; errors.ts turns failures into messages that
// say what to do).
import * as fs from 'fs';
import * as path from 'path';
import type { Qwen3HFConfig } from '../qwen3/config';
import { MODEL_SIZES, findPreset, type ModelFamily } from '../qwen3/presets';
import { createTinyQwen3, tinyModelFor } from '../qwen3/tiny';
import { expectNonEmptyString } from '../util/is';
import { checkOptions } from '../util/schema-errors';
import { cleanStaleTemporaries, temporaryName } from '../util/atomic-write';
import { displayPath } from '../util/paths';
import { encodeRepoId, fetchHubFile, fetchRevisionInfo, type ResolveProgress } from './api';
import {
  REVISION,
  expandHome,
  findCachedModel,
  hfCacheDir,
  hfEndpoint,
  hfToken,
  isDirectory,
  isOfflineEnv,
  isRepoId,
  missingModelFiles,
  normalizeEndpoint,
  repoCacheFolder,
  shardNames,
  snapshotFolder,
  writeRef,
} from './cache';
import { ModelDownloadError, ModelNotFoundError, offlineMessage, toModelDownloadError } from './errors';
import { isFile } from '../util/regular-file';
import { DEFAULT_TIMEOUT_MS } from './http';
import { ResolveOptionsSchema, type ResolveOptions } from './schema';

export type { ResolveOptions };

export type ModelSource = 'local' | 'models' | 'cache' | 'download';

export interface ResolvedModel {
  /** absolute path of a folder holding config.json, tokenizer files and safetensors weights */
  dir: string;
  source: ModelSource;
  /** the Hugging Face repo id, when the model came from the cache or a download */
  repoId?: string;
  /** a one-line note when an old convention decided (./models/qwen3-0.6b found for Qwen/Qwen3-0.6B) */
  note?: string;
}

/**
 * Finds a Qwen3 model folder folder, in this order:
 *  1. `spec` is a folder holding config.json (source 'local');
 *  2. `<modelsDir>/<spec>` (or, for a repo id Org/Name, `<modelsDir>/Name`) holds config.json ('models'); names are
 *     compared case-insensitively, so the old scripts' copies (./models/qwen3-0.6b, qwen3-embedding-0.6b) count;
 *  3. `spec` is a repo id ('Qwen/Qwen3-0.6B'; a size '0.6B' or a name 'Qwen3-0.6B' maps to the Qwen repo) with a
 *     complete snapshot in the Hugging Face cache ('cache');
 *  4. otherwise downloads it from the Hub (HF_ENDPOINT, HF_TOKEN) into that cache, in huggingface_hub's layout so
 *     Python tools reuse it ('download'). Never with `offline` or HF_HUB_OFFLINE: then a ModelNotFoundError says
 *     what to download and where to put it.
 * `tiny` / `tiny-embedding` / `tiny-scratch` name a random model generated on first use in `<modelsDir>/<that name>`
 * (`tiny` for the embedding family: `tiny-embedding`).
 * Network failures throw ModelDownloadError with the endpoint, repo, cause and a fix in the message.
 */
export async function resolveModel(spec: string, options?: ResolveOptions): Promise<ResolvedModel> {
  expectNonEmptyString(spec, 'spec');
  const settings = options ?? {};
  checkOptions(ResolveOptionsSchema, settings, 'options', true);
  const { kind = 'causal', onProgress } = settings;
  const env = process.env;
  const offline = settings.offline ?? isOfflineEnv(env);
  const modelsDir = path.resolve(expandHome(settings.modelsDir ?? 'models'));
  const cacheDir = settings.cacheDir ? path.resolve(expandHome(settings.cacheDir)) : hfCacheDir(env);
  const endpoint = settings.endpoint ? normalizeEndpoint(settings.endpoint, 'options.endpoint') : hfEndpoint(env);
  const trimmed = spec.trim();

  // tiny models: generated, never downloaded
  const tiny = tinyModelFor(trimmed, kind);
  if (tiny)
    return { dir: await ensureTinyModel(path.join(modelsDir, tiny.name), tiny.family, tiny.config), source: 'local' };

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
  const folded = names.filter((n) => !n.includes('/')).map((n) => n.toLowerCase());
  const other = listModelFolders(modelsDir).find((n) => folded.includes(n.toLowerCase()));
  if (other) {
    const dir = path.join(modelsDir, other);
    return {
      dir,
      source: 'models',
      note: `note: using ${displayPath(dir)} for ${spec} (a name under ${displayPath(modelsDir)} in other letter case, as the old scripts saved their copies)`,
    };
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

// First uses of a tiny model in flight in this process, by folder: concurrent callers share one creation.
const tinyInFlight = new Map<string, Promise<string>>();

/**
 * Creates the tiny model in a sibling temp folder (pid + random in its name) and renames it into place. A complete
 * folder is never replaced: another process (or call) that finished first wins and this one's copy is dropped.
 */
function ensureTinyModel(dir: string, kind: ModelFamily, config?: Partial<Qwen3HFConfig>): Promise<string> {
  if (missingModelFiles(dir).length === 0) return Promise.resolve(dir);
  let pending = tinyInFlight.get(dir);
  if (!pending) {
    pending = createTinyModel(dir, kind, config).finally(() => tinyInFlight.delete(dir));
    tinyInFlight.set(dir, pending);
  }
  return pending;
}

async function createTinyModel(dir: string, kind: ModelFamily, config?: Partial<Qwen3HFConfig>): Promise<string> {
  await fs.promises.mkdir(path.dirname(dir), { recursive: true });
  // Only this folder's own temporaries: ./models holds the user's files too.
  cleanStaleTemporaries(path.dirname(dir), (name) => name.startsWith(`${path.basename(dir)}.tmp-`));
  const temporary = temporaryName(dir);
  try {
    await createTinyQwen3(temporary, { kind, seed: 0, config });
    if (missingModelFiles(dir).length === 0) return dir; // another process finished first
    if (fs.existsSync(dir)) {
      // An incomplete leftover (a killed first use): moved aside first, so the swap below is one rename.
      const leftover = temporaryName(dir);
      await fs.promises.rename(dir, leftover);
      await fs.promises.rm(leftover, { recursive: true, force: true });
    }
    await fs.promises.rename(temporary, dir);
  } catch (error) {
    if (missingModelFiles(dir).length !== 0) throw error; // nobody else produced it
  } finally {
    await fs.promises.rm(temporary, { recursive: true, force: true });
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
