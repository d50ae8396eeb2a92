// Files written whole or not at all: to a temporary name beside the target, flushed, then renamed over it. A crash
// leaves either the old file or the new one, never half of one; the temporary names carry the writer's pid, so the
// leftovers of a killed process are recognised and removed.
import * as crypto from 'crypto';
import * as fs from 'fs';

/** A temporary name beside `file`, unique per process and call (two writers in one process never share one). */
export function temporaryName(file: string): string {
  return `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

export function writeFileAtomic(file: string, contents: string | Buffer): void {
  const tmp = temporaryName(file);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw writeError(file, error);
  }
}

/** An error that names the file a write failed on (Node's ENOSPC message names only the system call). */
export function writeError(file: string, error: unknown): Error {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT')
    return new Error(`could not write ${file}: no space left on its device (${e.code}); free some space`);
  if (typeof e?.code === 'string') return new Error(`could not write ${file}: ${e.message}`);
  return error as Error;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Whether a process with this pid runs on this machine (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A name written while in progress: temporaryName's `.tmp-<pid>-<hex>`, and the `.staging-<pid>` / `.publish-<pid>` /
 * `.old-<pid>` names of earlier versions. Group 1 is the writer's pid.
 */
export const TEMPORARY_NAME = /\.(?:tmp|staging|publish|old)-(\d+)(?:-[0-9a-f]+)?$/;

/**
 * Removes the temporary files and folders in `dir` whose writer is dead and whose name `mine` accepts (only a
 * folder this package owns should be cleaned whole: elsewhere, pass a test for the names it writes); returns them.
 */
export function cleanStaleTemporaries(dir: string, mine: (name: string) => boolean = () => true): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMPORARY_NAME.exec(name);
    if (!m || !mine(name) || processAlive(Number(m[1]))) continue;
    fs.rmSync(`${dir}/${name}`, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
