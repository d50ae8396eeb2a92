// Creating a folder and its parents with the cause of a failure named. Node's recursive mkdir reports the folder it
// was asked for (ENOENT … mkdir '<output>.partial') when a parent cannot be made, which hides the real cause: a
// read-only file system (EROFS), a parent that is a file (ENOTDIR), no permission (EACCES).
import * as fs from 'fs';
import * as path from 'path';

const CAUSES: Record<string, string> = {
  EROFS: 'is on a read-only file system',
  EACCES: 'is not writable by this user',
  EPERM: 'is not writable by this user',
  ENOTDIR: 'is a file, not a folder',
  ENOSPC: 'is on a full disk',
  EDQUOT: "is over this user's disk quota",
};

/** mkdir -p `dir`; on failure, an Error (with the errno's code) naming the folder that could not be made and why. */
export function makeDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return;
  } catch (e) {
    throw whyNot(path.resolve(dir), e as NodeJS.ErrnoException);
  }
}

function whyNot(dir: string, first: NodeJS.ErrnoException): Error {
  // The deepest folder that exists, and the first one below it that could not be made: making that one alone gives
  // the real error.
  let parent = path.dirname(dir);
  let child = dir;
  while (!fs.existsSync(parent) && path.dirname(parent) !== parent) {
    child = parent;
    parent = path.dirname(parent);
  }
  let cause: NodeJS.ErrnoException = first;
  try {
    fs.mkdirSync(child);
    return first;
  } catch (e) {
    cause = e as NodeJS.ErrnoException;
  }
  const code = cause.code ?? first.code ?? 'EIO';
  const why = CAUSES[code] ?? `cannot hold it (${cause.message})`;
  const error: NodeJS.ErrnoException = new Error(`cannot create ${dir}: ${parent} ${why} (${code})`);
  error.code = code;
  return error;
}
