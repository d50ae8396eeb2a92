// The one way this package reads its JSON files (run.json, trainer_state.json, adapter_config.json, config.json,
// model.safetensors.index.json): every failure names the file, says what is wrong with it (not JSON, truncated,
// `null`, a field of the wrong type) and what to do, instead of a bare "Unexpected end of JSON input" or a TypeError
// from reading a field of null.
import { isMissingFileError, NotARegularFileError, readRegularFile, readRegularFileSync } from './regular-file';
import { applyDefaults, problems, Type, type Static, type TSchema } from './schema';
import { fileProblemLines, shownJson } from './schema-errors';

/** An error about one file; the message starts with the file's path. */
export class JsonFileError extends Error {
  constructor(
    readonly file: string,
    message: string
  ) {
    super(message);
    this.name = 'JsonFileError';
  }
}

function describeParseError(text: string, error: Error): string {
  if (text.trim() === '') return 'it is empty';
  const truncated = /end of (JSON )?input|Unterminated/i.test(error.message);
  return `it is not valid JSON (${error.message}${truncated ? ': the file looks truncated' : ''})`;
}

/** JSON files this package reads are KBs (Qwen3-8B's index: ~30 KB); one past this is not the file it should be. */
export const MAX_JSON_BYTES = 64 << 20;

function readError(file: string, e: unknown, fix: string): JsonFileError {
  if (e instanceof NotARegularFileError) return new JsonFileError(file, `${e.message}. ${fix}`);
  if (isMissingFileError(e)) return new JsonFileError(file, `${file} not found. ${fix}`);
  return new JsonFileError(file, `${file}: could not be read (${(e as Error).message}). ${fix}`);
}

function parse(file: string, bytes: Buffer, fix: string): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new JsonFileError(file, `${file}: ${describeParseError(text, e as Error)}. ${fix}`);
  }
}

/**
 * Reads and parses a JSON file. `fix` (what to do about a damaged file) ends every message. Only regular files are
 * read (util/regular-file): a folder, a FIFO or a device is refused by name rather than read (a FIFO would block
 * forever).
 */
export function readJsonFile(file: string, fix: string, maxBytes = MAX_JSON_BYTES): unknown {
  let bytes: Buffer;
  try {
    bytes = readRegularFileSync(file, 'a JSON file', maxBytes);
  } catch (e) {
    throw readError(file, e, fix);
  }
  return parse(file, bytes, fix);
}

/** readJsonFile without blocking the event loop on the read (model files: config.json, the shard index). */
export async function readJsonFileAsync(file: string, fix: string, maxBytes = MAX_JSON_BYTES): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, 'a JSON file', maxBytes);
  } catch (e) {
    throw readError(file, e, fix);
  }
  return parse(file, bytes, fix);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The file's object, with the schema's defaults where it has nothing (fields added since it was written), checked
 * against the schema: every problem listed, then `fix`.
 */
export function checkJsonObject<T extends TSchema>(file: string, value: unknown, fix: string, schema: T): Static<T> {
  if (!isObject(value)) {
    throw new JsonFileError(
      file,
      `${file}: expected a JSON object ({...}) but found ${Array.isArray(value) ? 'an array' : shownJson(value)}. ${fix}`
    );
  }
  const filled = applyDefaults(schema, value as Static<T>);
  const found = problems(schema, filled);
  if (found.length) throw new JsonFileError(file, `${file}: ${fileProblemLines(found).join('; ')}. ${fix}`);
  return filled;
}

/** Any JSON object: what a file must hold when nothing more is said about it. */
export const AnyJsonObject = Type.Record(Type.String(), Type.Unknown());

/** Reads a JSON file that must hold an object fitting `schema` (any object by default); lists every problem at once. */
export function readJsonObject<T extends TSchema = typeof AnyJsonObject>(
  file: string,
  fix: string,
  schema?: T
): Static<T> {
  return checkJsonObject(file, readJsonFile(file, fix), fix, schema ?? AnyJsonObject);
}

/** readJsonObject without blocking the event loop on the read. */
export async function readJsonObjectAsync<T extends TSchema = typeof AnyJsonObject>(
  file: string,
  fix: string,
  schema?: T,
  maxBytes = MAX_JSON_BYTES
): Promise<Static<T>> {
  return checkJsonObject(file, await readJsonFileAsync(file, fix, maxBytes), fix, schema ?? AnyJsonObject);
}
