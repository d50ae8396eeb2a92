// The Hugging Face hub cache in huggingface_hub's layout, so Python tools and this package share downloads:
//   <cacheDir>/models--Org--Name/blobs/<etag>                the files, named by ETag (sha256 for LFS files)
//   <cacheDir>/models--Org--Name/snapshots/<commit>/<file>   relative symlinks to ../../blobs/<etag> (or copies)
//   <cacheDir>/models--Org--Name/refs/main                   the commit a branch points at
// and the environment huggingface_hub reads to find it and the Hub: HF_HUB_CACHE / HF_HOME, HF_ENDPOINT,
// HF_HUB_OFFLINE, HF_TOKEN (or the token file that `hf auth login` wrote).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { invalidRangeError } from '../util/is';
import { isFile } from '../util/regular-file';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** The branch a download follows and whose ref the cache records. */
export const REVISION = 'main';

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

export function normalizeEndpoint(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidRangeError('http(s) URL', name, value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidRangeError('http(s) URL', name, value);
  return value.replace(/\/+$/, '');
}

/** options.token, else HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN), else the file `hf auth login` wrote. */
export function hfToken(env: NodeJS.ProcessEnv): string | undefined {
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

export function expandHome(file: string): string {
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

export function shardNames(index: unknown): string[] {
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (!weightMap || typeof weightMap !== 'object') throw new Error('model.safetensors.index.json has no weight_map');
  const names = [...new Set(Object.values(weightMap as Record<string, unknown>))];
  for (const name of names) {
    if (typeof name !== 'string' || !isSafeRepoPath(name)) throw new Error(`bad shard name ${JSON.stringify(name)}`);
  }
  return (names as string[]).sort();
}

export function isSafeRepoPath(name: string): boolean {
  return name.length > 0 && !path.isAbsolute(name) && !name.split(/[\\/]/).some((part) => part === '..' || part === '');
}

export function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A complete snapshot of `repoId` in the hub cache, or undefined. Prefers refs/main; otherwise the newest complete
 * snapshot (an `hf download --revision <sha>` leaves no refs/main). Also accepts a plain model folder
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

/** Records that `revision` of the repo is `commit`: refs/<revision> holds the sha, as huggingface_hub writes it. */
export async function writeRef(repoFolder: string, revision: string, commit: string): Promise<void> {
  await fs.promises.mkdir(path.join(repoFolder, 'refs'), { recursive: true });
  await fs.promises.writeFile(path.join(repoFolder, 'refs', revision), commit);
}

/** snapshots/<commit> of a repo's cache folder. */
export function snapshotFolder(repoFolder: string, commit: string): string {
  return path.join(repoFolder, 'snapshots', commit);
}

/** blobs/<etag> of a repo's cache folder. */
export function blobFile(repoFolder: string, etag: string): string {
  return path.join(repoFolder, 'blobs', etag);
}

/** snapshots/<commit>/<file> -> ../../blobs/<etag> as a relative symlink, or a copy where symlinks fail. */
export async function linkIntoSnapshot(blob: string, target: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  await fs.promises.rm(target, { force: true });
  try {
    await fs.promises.symlink(path.relative(path.dirname(target), blob), target);
  } catch {
    await fs.promises.copyFile(blob, target);
  }
}
