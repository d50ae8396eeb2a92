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
