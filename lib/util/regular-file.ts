// Model files are read only when they are regular files. A named pipe as config.json blocked the process forever
// (a read waits for a writer that never comes: on the JS thread with readFileSync, on a libuv pool thread with
// fs.promises, where it also keeps the process from exiting), /dev/zero never ends and a directory fails with a bare
// EISDIR. Opening with O_NONBLOCK returns at once even for a pipe, and fstat on the open descriptor says what it is,
// with no window between the check and the read. On a regular file O_NONBLOCK changes nothing.
import * as fs from 'fs';

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

/** What a non-regular file is, for messages: "a named pipe", "a directory", ... */
export function fileKind(stat: fs.Stats): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** A file that exists but is not a regular file (or is larger than its kind of file can be). */
export class NotARegularFileError extends Error {}

function refuse(file: string, what: string, stat: fs.Stats, maxBytes: number): void {
  if (!stat.isFile()) {
    throw new NotARegularFileError(`${file} is ${fileKind(stat)}, not a regular file: ${what} must be a regular file`);
  }
  if (stat.size > maxBytes) {
    throw new NotARegularFileError(
      `${file} is ${stat.size} bytes, more than a ${what} can be (${maxBytes} bytes): is it the right file?`
    );
  }
}

/** True when the error is "no such file" (callers explain what was expected there). */
export function isMissingFileError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Opens `file` for reading if it is a regular file of at most maxBytes; throws NotARegularFileError naming the file
 * and what it is otherwise, and the open's own error (ENOENT, EACCES) when it cannot be opened.
 */
export async function openRegularFile(
  file: string,
  what: string,
  maxBytes = Number.MAX_SAFE_INTEGER
): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  const handle = await fs.promises.open(file, OPEN_FLAGS);
  try {
    const stat = await handle.stat();
    refuse(file, what, stat, maxBytes);
    return { handle, size: stat.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The bytes of a regular file (see openRegularFile). */
export async function readRegularFile(file: string, what: string, maxBytes?: number): Promise<Buffer> {
  const { handle } = await openRegularFile(file, what, maxBytes);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The synchronous form, for small files read where no await is possible. */
export function readRegularFileSync(file: string, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Buffer {
  const fd = fs.openSync(file, OPEN_FLAGS);
  try {
    refuse(file, what, fs.fstatSync(fd), maxBytes);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether `file` exists and is a regular file (following links); never throws. */
export function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
