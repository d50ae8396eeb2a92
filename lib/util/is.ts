// The package's one message shape, "Expected <what> for <name> but received <value>", and the checks of single
// arguments (a text, a list of ids). Options objects, JSON files and HTTP bodies are shapes: they are declared in a
// schema.ts and checked by util/schema, whose messages (schema-errors.ts) use this shape too.
// The `is*` functions answer a question; the `expect*` functions throw an error in that shape.

/** Strings, numbers, booleans, null and undefined print as themselves; containers are abbreviated. */
export function describeValue(value: unknown): string {
  return describe(value, 0);
}

const MAX_STRING_CHARS = 40;
const MAX_ITEMS = 3;

function describe(value: unknown, depth: number): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > MAX_STRING_CHARS ? `${value.slice(0, MAX_STRING_CHARS)}…` : value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return value.name ? `function ${value.name}` : 'function';
  }
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `${value.constructor.name}(${length})`;
  }
  if (Array.isArray(value)) {
    if (depth > 0) return value.length === 0 ? '[]' : `[…${value.length} items]`;
    const shown = value.slice(0, MAX_ITEMS).map((item) => describe(item, depth + 1));
    if (value.length > MAX_ITEMS) shown.push(`…${value.length - MAX_ITEMS} more`);
    return `[${shown.join(', ')}]`;
  }
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  if (value instanceof Map || value instanceof Set) return `${value.constructor.name}(${value.size})`;
  if (value instanceof Error) return `${value.name}(${describe(value.message, depth + 1)})`;
  const object = value as Record<string, unknown>;
  const prototype = Object.getPrototypeOf(object);
  const className = prototype && prototype !== Object.prototype ? prototype.constructor?.name : undefined;
  const keys = Object.keys(object);
  if (depth > 0) return className ? `${className} {…}` : keys.length === 0 ? '{}' : '{…}';
  const shown = keys.slice(0, MAX_ITEMS).map((key) => `${key}: ${describe(object[key], depth + 1)}`);
  if (keys.length > MAX_ITEMS) shown.push(`…${keys.length - MAX_ITEMS} more`);
  const body = shown.length === 0 ? '{}' : `{ ${shown.join(', ')} }`;
  return className ? `${className} ${body}` : body;
}

/** The one message format of the package; `what` describes the accepted values. */
export function expectationMessage(what: string, name: string, value: unknown): string {
  return `Expected ${what} for ${name} but received ${describeValue(value)}`;
}

/** A TypeError in the package's message format: the value has the wrong type. */
export function invalidTypeError(what: string, name: string, value: unknown): TypeError {
  return new TypeError(expectationMessage(what, name, value));
}

/** A RangeError in the package's message format: the value has the right type but is out of range. */
export function invalidRangeError(what: string, name: string, value: unknown): RangeError {
  return new RangeError(expectationMessage(what, name, value));
}

/** Returns (does not throw) the error for a value outside a fixed list: `throw invalidOption('kind', k, KINDS)`. */
export function invalidOption(name: string, value: unknown, allowed: readonly unknown[]): TypeError | RangeError {
  const what = `one of ${allowed.map((item) => describeValue(item)).join(', ')}`;
  const sameType = allowed.some((item) => typeof item === typeof value);
  return sameType ? invalidRangeError(what, name, value) : invalidTypeError(what, name, value);
}

// ---- predicates ----

/** An object literal or Object.create(null); not arrays, class instances, or boxed primitives. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export function isString(value: unknown): value is string {
  return typeof value === 'string';
}

export function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

/** A finite number (NaN and ±Infinity are rejected: they are never a meaningful setting). */
export function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

export function isPositiveInteger(value: unknown): value is number {
  return isInteger(value) && value > 0;
}

export function isNonNegativeInteger(value: unknown): value is number {
  return isInteger(value) && value >= 0;
}

/** Inclusive on both ends. */
export function isNumberInRange(value: unknown, min: number, max: number): value is number {
  return isNumber(value) && value >= min && value <= max;
}

export function isOneOf<T>(value: unknown, allowed: readonly T[]): value is T {
  return allowed.includes(value as T);
}

// ---- asserters ----

export function expectPlainObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidTypeError('plain object', name, value);
}

/** For `options` arguments: undefined means "all defaults"; anything else must be a plain object. */
export function expectOptionalOptions<T extends object>(value: T | undefined, name = 'options'): Partial<T> {
  if (value === undefined) return {};
  expectPlainObject(value, name);
  return value;
}

/** Catches misspelt option names, which would otherwise be silently ignored. */
export function expectKnownKeys(value: object, name: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown key ${JSON.stringify(key)} in ${name}; expected one of ${known.join(', ')}`);
    }
  }
}

export function expectString(value: unknown, name: string): asserts value is string {
  if (!isString(value)) throw invalidTypeError('string', name, value);
}

export function expectNonEmptyString(value: unknown, name: string): asserts value is string {
  if (!isString(value)) throw invalidTypeError('non-empty string', name, value);
  if (value.length === 0) throw invalidRangeError('non-empty string', name, value);
}

export function expectBoolean(value: unknown, name: string): asserts value is boolean {
  if (!isBoolean(value)) throw invalidTypeError('boolean', name, value);
}

export function expectNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidTypeError('finite number', name, value);
  if (!Number.isFinite(value)) throw invalidRangeError('finite number', name, value);
}

export function expectPositiveInteger(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidTypeError('positive integer', name, value);
  if (!isPositiveInteger(value)) throw invalidRangeError('positive integer', name, value);
}

export function expectNonNegativeInteger(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidTypeError('non-negative integer', name, value);
  if (!isNonNegativeInteger(value)) throw invalidRangeError('non-negative integer', name, value);
}

/** Inclusive range [min, max]. */
export function expectNumberInRange(value: unknown, name: string, min: number, max: number): asserts value is number {
  const what = `number between ${min} and ${max}`;
  if (typeof value !== 'number') throw invalidTypeError(what, name, value);
  if (!isNumberInRange(value, min, max)) throw invalidRangeError(what, name, value);
}

/** Exclusive range (min, max), for fractions such as a dev split that must leave something on both sides. */
export function expectNumberBetweenExclusive(
  value: unknown,
  name: string,
  min: number,
  max: number
): asserts value is number {
  const what = `number greater than ${min} and less than ${max}`;
  if (typeof value !== 'number') throw invalidTypeError(what, name, value);
  if (!isNumber(value) || value <= min || value >= max) throw invalidRangeError(what, name, value);
}

export function expectPositiveNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidTypeError('positive number', name, value);
  if (!isNumber(value) || value <= 0) throw invalidRangeError('positive number', name, value);
}

export function expectOneOf<T>(value: unknown, name: string, allowed: readonly T[]): asserts value is T {
  if (!isOneOf(value, allowed)) throw invalidOption(name, value, allowed);
}

export function expectArray(value: unknown, name: string): asserts value is unknown[] {
  if (!Array.isArray(value)) throw invalidTypeError('array', name, value);
}

export function expectStringArray(value: unknown, name: string): asserts value is string[] {
  expectArray(value, name);
  value.forEach((item, index) => expectString(item, `${name}[${index}]`));
}
