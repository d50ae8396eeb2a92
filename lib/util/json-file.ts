// The one way this package reads its JSON files (run.json, trainer_state.json, adapter_config.json, config.json,
// model.safetensors.index.json): every failure names the file, says what is wrong with it (not JSON, truncated,
// `null`, a field of the wrong type) and what to do, instead of a bare "Unexpected end of JSON input" or a TypeError
// from reading a field of null.
import { isMissingFileError, NotARegularFileError, readRegularFile, readRegularFileSync } from './regular-file';

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

/**
 * A field's expected kind; a trailing '?' makes it optional (absent or null). 'integer+' is a positive integer,
 * 'integer' a non-negative one.
 */
export type FieldKind =
  'string' | 'number' | 'integer' | 'integer+' | 'boolean' | 'object' | 'array' | 'string[]' | 'integer[]';
export type JsonShape = Record<string, FieldKind | `${FieldKind}?`>;

const KIND_WORDS: Record<FieldKind, string> = {
  string: 'a string',
  number: 'a finite number',
  integer: 'a non-negative integer',
  'integer+': 'a positive integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  'string[]': 'an array of strings',
  'integer[]': 'an array of non-negative integers',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fits(value: unknown, kind: FieldKind): boolean {
  const integer = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return integer(value);
    case 'integer+':
      return integer(value) && (value as number) > 0;
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'integer[]':
      return Array.isArray(value) && value.every(integer);
  }
}

/** A value as it appears in a message: short JSON ("null", "\"8\"", "[1,2]"). */
function shown(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Every way `value` differs from `shape`, as "key: expected … but found …" lines (empty when it fits). */
export function shapeProblems(value: Record<string, unknown>, shape: JsonShape): string[] {
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(shape)) {
    const optional = spec.endsWith('?');
    const kind = (optional ? spec.slice(0, -1) : spec) as FieldKind;
    const v = value[key];
    if (optional && (v === undefined || v === null)) continue;
    if (!fits(v, kind)) problems.push(`"${key}" should be ${KIND_WORDS[kind]} but is ${shown(v)}`);
  }
  return problems;
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

function checkObject(file: string, value: unknown, fix: string, shape: JsonShape): Record<string, unknown> {
  if (!isObject(value)) {
    throw new JsonFileError(
      file,
      `${file}: expected a JSON object ({...}) but found ${Array.isArray(value) ? 'an array' : shown(value)}. ${fix}`
    );
  }
  const problems = shapeProblems(value, shape);
  if (problems.length) throw new JsonFileError(file, `${file}: ${problems.join('; ')}. ${fix}`);
  return value;
}

/** Reads a JSON file that must hold an object fitting `shape`; lists every problem at once. */
export function readJsonObject(file: string, fix: string, shape: JsonShape = {}): Record<string, unknown> {
  return checkObject(file, readJsonFile(file, fix), fix, shape);
}

/** readJsonObject without blocking the event loop on the read. */
export async function readJsonObjectAsync(
  file: string,
  fix: string,
  shape: JsonShape = {},
  maxBytes = MAX_JSON_BYTES
): Promise<Record<string, unknown>> {
  return checkObject(file, await readJsonFileAsync(file, fix, maxBytes), fix, shape);
}
