// Paths as people read them, and where this package lives.
import * as fs from 'fs';
import * as path from 'path';

/** './models' for folders under the working directory, the absolute path otherwise. */
export function displayPath(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  if (relative === '') return '.';
  return relative.startsWith('..') || path.isAbsolute(relative) ? dir : `.${path.sep}${relative}`;
}

/** The package's root folder (holds package.json, data/, dist/). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

let version: string | undefined;

/** This package's version, from its package.json. */
export function packageVersion(): string {
  if (version === undefined) {
    try {
      version = String(JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version);
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/**
 * Folders the kernel serves, where a run is never meant to go. Node's recursive mkdir loops forever under /proc (the
 * kernel answers ENOENT for a parent that exists, and Node retries the parent): `train --output /proc/x` never ended.
 */
const KERNEL_FOLDERS = ['/proc', '/sys', '/dev'];

/** Why `dir` cannot be an output folder (under /proc, /sys or /dev, or a file is in the way), or undefined. */
export function outputFolderProblem(dir: string): string | undefined {
  const target = path.resolve(dir);
  // The nearest part that exists, with links resolved: a link into /proc is /proc.
  let existing = target;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  let real = existing;
  try {
    real = fs.realpathSync(existing);
  } catch {
    // unreadable: judged by its name
  }
  const full = path.join(real, path.relative(existing, target));
  for (const kernel of KERNEL_FOLDERS) {
    if (full === kernel || full.startsWith(`${kernel}${path.sep}`)) {
      return `${dir} is under ${kernel}, which the kernel serves; choose a folder on a disk`;
    }
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(existing);
  } catch {
    return undefined; // nothing there that could be in the way; creating it reports any other problem
  }
  if (!stat.isDirectory()) {
    return existing === target
      ? `${dir} exists and is not a folder; choose a folder (or a name that does not exist yet)`
      : `${existing} is not a folder, so ${dir} cannot be created inside it`;
  }
  return undefined;
}

/** Throws a RangeError naming the option when `dir` cannot be an output folder (see outputFolderProblem). */
export function expectOutputFolder(dir: string, name: string): void {
  const problem = outputFolderProblem(dir);
  if (problem) throw new RangeError(`${name}: ${problem}`);
}
