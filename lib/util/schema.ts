// One validator for every shape the package takes or reads: options objects, its JSON files and the HTTP bodies are
// declared once each, with TypeBox (`Type.Object({...})` carrying `description`, `default`, `minimum`, ...), and
// checked here by ajv against those declarations. Types come from `Static<typeof X>`, defaults from the schema
// (applyDefaults), and every problem found is listed at once (schema-messages.ts words them).
//
// Why ajv and not TypeBox's own Value.Errors: ajv is the validator fastify runs already, it checks every JSON Schema
// keyword as the standard says (the predict body's `anyOf`/`not`, which TypeBox's checker skips on an object;
// `maxLength` in code points, where TypeBox counts UTF-16 units), and each of its errors names the keyword and the
// schema node that failed, which is what the messages are made of. It is loaded on the first check, not with the
// package: requiring it and compiling a first schema took ~90 ms on this 2-core machine.
//
// Why @sinclair/typebox 0.34 and not `typebox` 1.x: 1.x ships ES modules only, which a CommonJS package can require on
// Node >= 20.19 only (the package supports Node 20.0 and later), and @fastify/type-provider-typebox 5.x takes 0.34.
import { Kind, Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { default as Ajv, ErrorObject, ValidateFunction } from 'ajv';

export { Type, type Static, type TSchema };

/** A schema node as ajv and the messages read it (TypeBox's nodes are plain JSON Schema). */
export type SchemaNode = TSchema & Record<string, unknown>;

// ---- building blocks ----

/**
 * A string of a given form, typed T: a fixed list (`enum`; TypeBox's literal union would be an `anyOf` of consts,
 * worded worse) or a pattern. TypeBox's own walkers (defaults, clone) see a string.
 */
export function StringOf<T extends string>(options: SchemaOptions): TUnsafe<T> {
  return Type.Unsafe<T>({ [Kind]: 'String', type: 'string', ...options });
}

/** One of a fixed list of strings. */
export function OneOf<T extends string>(values: readonly T[], options: SchemaOptions = {}): TUnsafe<T> {
  return StringOf<T>({ enum: [...values], ...options });
}

/** An integer from 1, within the safe range (past 2^53 integers lose their last digits). */
export function PositiveInt(options: SchemaOptions = {}) {
  return Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, ...options });
}

/** An integer from 0, within the safe range. */
export function NonNegativeInt(options: SchemaOptions = {}) {
  return Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, ...options });
}

/** A function (a callback option); JSON Schema has no such type, so a keyword of this validator checks it. */
export function Callback<T extends (...args: never[]) => unknown>(options: SchemaOptions = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ isFunction: true, expected: 'function', ...options });
}

/** A string of at least one character. */
export function NonEmptyString(options: SchemaOptions = {}) {
  return Type.String({ minLength: 1, ...options });
}

// ---- the validator ----

let ajv: Ajv | undefined;
const compiled = new WeakMap<TSchema, ValidateFunction>();

function createAjv(): Ajv {
  const AjvClass = (require('ajv') as typeof import('ajv')).default;
  // Every problem at once (allErrors), with the failing value and schema node (verbose); values are never coerced,
  // dropped or filled in (defaults are applied separately, to a copy).
  // strict: unknown keywords are schema mistakes; but `required` may name properties declared beside it (the predict
  // body's anyOf) and keywords may apply whatever the type.
  const instance = new AjvClass({
    allErrors: true,
    verbose: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
  });
  // `expected`: the words a message uses for what a node accepts, where its keywords alone would say it badly (a
  // pattern, for instance).
  instance.addKeyword({ keyword: 'expected', schemaType: 'string' });
  instance.addKeyword({
    keyword: 'isFunction',
    schemaType: 'boolean',
    validate: (_: boolean, data: unknown) => typeof data === 'function',
  });
  return instance;
}

function validatorFor(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    ajv ??= createAjv();
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** One thing wrong with a value. */
export interface Problem {
  /** where, from the root: keys and array indices */
  path: (string | number)[];
  /**
   * type: the value's kind is wrong (a TypeError); range: the right kind, outside what is accepted (a RangeError);
   * unknown: a key the shape does not have; missing: a required key is absent
   */
  kind: 'type' | 'range' | 'unknown' | 'missing';
  /** the JSON Schema keyword that failed (type, minimum, enum, maxItems, additionalProperties, required, ...) */
  keyword: string;
  /** the node the value at `path` should fit (for `unknown`: the object's node) */
  schema: SchemaNode;
  /** the value at `path`; undefined when missing */
  value: unknown;
  /** the keyword's parameters (e.g. limit) */
  params: Record<string, unknown>;
}

function parsePointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^(0|[1-9]\d*)$/.test(p) ? Number(p) : p));
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function accepts(type: unknown, value: unknown): boolean {
  const t = jsonType(value);
  const types = Array.isArray(type) ? type : [type];
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

/** The branch of an anyOf that a value of its type was meant for, if exactly one is. */
function branchFor(node: SchemaNode, value: unknown): number | undefined {
  const branches = (node.anyOf as SchemaNode[]).map((b, i) =>
    ('const' in b ? b.const === value : b.type !== undefined && accepts(b.type, value)) ? i : -1
  );
  const matching = branches.filter((i) => i >= 0);
  return matching.length === 1 ? matching[0] : undefined;
}

function toProblem(e: ErrorObject): Problem {
  const path = parsePointer(e.instancePath);
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required') {
    const key = String(params.missingProperty);
    const properties = (parent.properties ?? {}) as Record<string, SchemaNode>;
    return {
      path: [...path, key],
      kind: 'missing',
      keyword: 'required',
      schema: properties[key] ?? {},
      value: undefined,
      params,
    };
  }
  if (e.keyword === 'additionalProperties') {
    const key = String(params.additionalProperty);
    const value = (e.data as Record<string, unknown>)[key];
    return { path: [...path, key], kind: 'unknown', keyword: e.keyword, schema: parent, value, params };
  }
  let kind: Problem['kind'] = 'range';
  // A number where a number or integer belongs is out of range (NaN, Infinity, 1.5 for an integer), not mistyped.
  const numeric = parent.type === 'number' || parent.type === 'integer';
  if (e.keyword === 'type') kind = numeric && typeof e.data === 'number' ? 'range' : 'type';
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = e.keyword === 'enum' ? (parent.enum as unknown[]) : [parent.const];
    kind = allowed.some((a) => typeof a === typeof e.data) ? 'range' : 'type';
  }
  if (e.keyword === 'anyOf' || e.keyword === 'isFunction') kind = 'type';
  return { path, kind, keyword: e.keyword, schema: parent, value: e.data, params };
}

/**
 * ajv's errors as problems: for an anyOf whose branches differ by type (`{...} | false`), only the branch the value's
 * type chose speaks (else one problem for the whole anyOf); a value of the wrong type gets that problem alone, not
 * also the ones of the keywords that could not apply; one problem per place and keyword.
 */
function problemsFrom(errors: readonly ErrorObject[]): Problem[] {
  let kept = [...errors];
  for (const e of errors.filter((x) => x.keyword === 'anyOf')) {
    const node = e.parentSchema as SchemaNode;
    const prefix = `${e.schemaPath}/`;
    const chosen = (node.anyOf as SchemaNode[]).every((b) => b.type !== undefined || 'const' in b)
      ? branchFor(node, e.data)
      : undefined;
    if (chosen !== undefined) {
      kept = kept.filter(
        (x) => x !== e && (!x.schemaPath.startsWith(prefix) || x.schemaPath.startsWith(`${prefix}${chosen}/`))
      );
    } else {
      kept = kept.filter((x) => !x.schemaPath.startsWith(prefix));
    }
  }
  const problems = kept.map(toProblem);
  const key = (p: Problem) => JSON.stringify(p.path);
  const wrongType = new Set(problems.filter((p) => p.kind === 'type' && p.keyword === 'type').map(key));
  const under = (p: Problem) =>
    [...Array(p.path.length + 1).keys()].some((n) => wrongType.has(JSON.stringify(p.path.slice(0, n))));
  const seen = new Set<string>();
  return problems.filter((p) => {
    if (under(p) && !(p.keyword === 'type' && wrongType.has(key(p)))) return false;
    const id = `${key(p)} ${p.kind === 'unknown' || p.kind === 'missing' ? p.kind : ''}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** A checker for `schema`, compiled now (so a mistake in the schema shows at once, not at the first value). */
export function checker(schema: TSchema): (value: unknown) => Problem[] {
  const validate = validatorFor(schema);
  return (value) => (validate(value) ? [] : problemsFrom(validate.errors ?? []));
}

/** Every way `value` differs from `schema` (empty when it fits). */
export function problems(schema: TSchema, value: unknown): Problem[] {
  return checker(schema)(value);
}

/** Whether `value` fits `schema`. */
export function fits<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return validatorFor(schema)(value);
}

// ---- defaults ----

/** A copy of a value that fits `schema`, with the schema's defaults wherever the value has nothing. */
export function applyDefaults<T extends TSchema>(schema: T, value: Static<T>): Static<T> {
  return Value.Default(schema, Value.Clone(value)) as Static<T>;
}

/** A schema node whose default is typed, so that defaultsOf knows it: `WithDefault(PositiveInt(), 8)`. */
export function WithDefault<T extends TSchema>(schema: T, value: Static<T>): T & { default: Static<T> } {
  return { ...schema, default: value }; // a copy: shared nodes (DeviceSchema) keep no default of one use
}

type DefaultOf<T> = T extends { default: infer D } ? D : never;
type KeysWithDefault<T> = { [K in keyof T]: T[K] extends { default: unknown } ? K : never }[keyof T];

/** The defaults an object schema declares, by key (help texts and the resolved options read these). */
export function defaultsOf<T extends Record<string, TSchema>>(
  properties: T
): { readonly [K in KeysWithDefault<T>]: DefaultOf<T[K]> } {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(properties)) if ('default' in node) out[key] = node.default;
  return Object.freeze(out) as { readonly [K in KeysWithDefault<T>]: DefaultOf<T[K]> };
}
