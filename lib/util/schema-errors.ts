// The words of every validation message, from the schema node that failed: an option reads "Expected <what> for
// <name> but received <value>" (is.ts's one shape), a key the options do not have "Unknown key "x" in options;
// expected one of ...", and a field of a JSON file ""key" should be <what> but is <value>". Every problem is listed
// at once, one per line; a wrong type makes a TypeError, a value of the right type out of range a RangeError.
import { describeValue, expectationMessage, isPlainObject } from './is';
import { applyDefaults, problems, type Problem, type SchemaNode, type Static, type TSchema } from './schema';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function bounds(noun: 'integer' | 'number', s: SchemaNode): string {
  const min = s.minimum as number | undefined;
  const max = s.maximum === MAX_SAFE ? undefined : (s.maximum as number | undefined);
  const xmin = s.exclusiveMinimum as number | undefined;
  const xmax = s.exclusiveMaximum as number | undefined;
  const only = (x: unknown) => x !== undefined && [min, max, xmin, xmax].filter((v) => v !== undefined).length === 1;
  if ((only(xmin) && xmin === 0) || (only(min) && min === 1 && noun === 'integer')) return `positive ${noun}`;
  if (only(min) && min === 0) return `non-negative ${noun}`;
  if (min !== undefined && max !== undefined) return `${noun} between ${min} and ${max}`;
  if (xmin !== undefined && xmax !== undefined) return `${noun} greater than ${xmin} and less than ${xmax}`;
  if (min !== undefined) return `${noun} of at least ${min}`;
  if (max !== undefined) return `${noun} of at most ${max}`;
  return noun === 'number' ? 'finite number' : 'integer';
}

/** What a node accepts, in the options' words ("positive integer", "one of "a", "b"", "plain object"). */
function expectedWords(s: SchemaNode): string {
  if (typeof s.expected === 'string') return s.expected;
  if (Array.isArray(s.anyOf)) {
    const members = s.anyOf as SchemaNode[];
    if (members.every((m) => 'const' in m)) return `one of ${members.map((m) => describeValue(m.const)).join(', ')}`;
    return members.map(expectedWords).join(' or ');
  }
  if ('const' in s) return describeValue(s.const);
  switch (s.type) {
    case 'integer':
    case 'number':
      return bounds(s.type, s);
    case 'string':
      return (s.minLength as number) > 0 ? 'non-empty string' : 'string';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'object':
      return 'plain object';
    case 'array': {
      const items = s.items as SchemaNode | undefined;
      return items?.type === 'string' ? 'array of strings' : 'array';
    }
  }
  return 'valid value';
}

/** "lora.targetModules[0]"; the root is `root`. */
export function pathName(path: readonly (string | number)[], root = ''): string {
  let name = root;
  for (const p of path) name += typeof p === 'number' ? `[${p}]` : name ? `.${p}` : p;
  return name;
}

function optionLine(p: Problem, name: string, qualified: boolean): string {
  const field = pathName(p.path, qualified ? name : '');
  if (p.kind !== 'unknown') return expectationMessage(expectedWords(p.schema), field, p.value);
  const parent = p.path.slice(0, -1);
  const where = parent.length === 0 ? name : pathName(parent, qualified ? name : '');
  const known = Object.keys((p.schema.properties ?? {}) as object);
  return `Unknown key ${JSON.stringify(p.path[p.path.length - 1])} in ${where}; expected one of ${known.join(', ')}`;
}

/** The error for an options argument's problems: a TypeError when one is of the wrong type, else a RangeError. */
function optionsError(found: readonly Problem[], name = 'options', qualified = false): TypeError | RangeError {
  const message = found.map((p) => optionLine(p, name, qualified)).join('\n');
  return found.some((p) => p.kind !== 'range') ? new TypeError(message) : new RangeError(message);
}

/**
 * Checks an options argument: a plain object fitting `schema`, every problem listed. `name` is the argument's
 * ("options", "distributed"); `qualified` names fields under it ("options.padding") rather than alone ("epochs").
 */
export function checkOptions<T extends TSchema>(
  schema: T,
  value: unknown,
  name = 'options',
  qualified = false
): asserts value is Static<T> {
  if (!isPlainObject(value)) throw new TypeError(expectationMessage('plain object', name, value));
  const found = problems(schema, value);
  if (found.length) throw optionsError(found, name, qualified);
}

/** checkOptions, then a copy with the schema's defaults filled in. */
export function resolveOptions<T extends TSchema>(schema: T, value: unknown, name = 'options', qualified = false) {
  checkOptions(schema, value, name, qualified);
  return applyDefaults(schema, value);
}

// ---- JSON files ----

const FILE_WORDS: Record<string, string> = {
  'plain object': 'an object',
  boolean: 'true or false',
  array: 'an array',
};

/** A value as a file's message shows it: short JSON ("null", "\"8\"", "[1,2]"), or "missing". */
export function shownJson(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * What a node accepts, in a sentence's words (a file's messages, a flag's): with an article, and "true or false" for
 * a boolean ("a number between 0 and 1", "one of "cosine", "linear"").
 */
export function expectedPhrase(s: SchemaNode): string {
  const members = s.anyOf as SchemaNode[] | undefined;
  if (members && !members.every((m) => 'const' in m)) return members.map(expectedPhrase).join(' or ');
  const words = expectedWords(s);
  if (FILE_WORDS[words]) return FILE_WORDS[words];
  return /^(one of|true|false|null|"|an? )/.test(words) ? words : `${/^[aeiou]/.test(words) ? 'an' : 'a'} ${words}`;
}

/** One line per problem of a JSON file: `"baseModel.spec" should be a string but is 3`. */
export function fileProblemLines(found: readonly Problem[]): string[] {
  return found.map((p) => {
    const field = JSON.stringify(pathName(p.path));
    if (p.kind === 'unknown') return `${field} is not a field of this file`;
    return `${field} should be ${expectedPhrase(p.schema)} but is ${shownJson(p.value)}`;
  });
}
