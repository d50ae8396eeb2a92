// Files written whole or not at all: to a temporary name beside the target, flushed, then renamed over it. A crash
// leaves either the old file or the new one, never half of one.
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
    throw error;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}
