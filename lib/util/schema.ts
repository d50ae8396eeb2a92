// One validator for every shape the package takes or reads: options objects, its JSON files and the HTTP bodies are
// declared once each, with TypeBox (`Type.Object({...})` carrying `description`, `default`, `minimum`, ...), and
// checked here against those declarations. Types come from `Static<typeof X>`, defaults from the schema
// (applyDefaults), and every problem found is listed at once (schema-errors.ts words them).
//
// Why TypeBox's own checker (Value.Check, Value.Errors) and not ajv: it walks the schema as it is, with nothing to
// compile, in a library the declarations load anyway. ajv compiles each schema to code first: its first check in a
// process held the JS thread for 50-80 ms (16 ms to require it, then 20-50 ms per schema: the Trainer's options,
// run.json; measured on this 2-core machine), past the 50 ms the package allows a cold load (test/native/event-loop);
// TypeBox's check of the same options takes under 1 ms. What TypeBox's checker does not do is spelled as TypeBox
// types: "one of two shapes" is a Union of objects (not `anyOf`/`not` of `required`), and `maxLength` counts UTF-16
// units as JavaScript's length does.
//
// Why @sinclair/typebox 0.34 and not `typebox` 1.x: 1.x ships ES modules only, which a CommonJS package can require on
// Node >= 20.19 only (the package supports Node 20.0 and later), and @fastify/type-provider-typebox 5.x takes 0.34.
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { AbortSignalLike } from './abort';

export { Type, type Static, type TSchema };

/** A schema node as the messages read it (TypeBox's nodes are plain JSON Schema). */
export type SchemaNode = TSchema & Record<string, unknown>;

// ---- building blocks ----

/** One of a fixed list of strings. */
export function OneOf<T extends string>(values: readonly T[], options: SchemaOptions = {}): TUnsafe<T> {
  return Type.Unsafe<T>(
    Type.Union(
      values.map((v) => Type.Literal(v)),
      options
    )
  );
}

/** An integer from 1, within the safe range (past 2^53 integers lose their last digits). */
export function PositiveInt(options: SchemaOptions = {}) {
  return Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, ...options });
}

/** An integer from 0, within the safe range. */
export function NonNegativeInt(options: SchemaOptions = {}) {
  return Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, ...options });
}

/** A function (a callback option), typed T. */
export function Callback<T extends (...args: never[]) => unknown>(options: SchemaOptions = {}): TUnsafe<T> {
  return Type.Unsafe<T>(Type.Function([], Type.Unknown(), { expected: 'function', ...options }));
}

/** An AbortSignal (anything with a boolean `aborted`: Node's, the DOM's, util/abort's AbortSignalLike). */
export function Signal(options: SchemaOptions = {}): TUnsafe<AbortSignalLike> {
  return Type.Unsafe<AbortSignalLike>(
    Type.Object({ aborted: Type.Boolean() }, { expected: 'AbortSignal', additionalProperties: true, ...options })
  );
}

/** A string of at least one character. */
export function NonEmptyString(options: SchemaOptions = {}) {
  return Type.String({ minLength: 1, ...options });
}

// ---- the validator ----

/** One thing wrong with a value. */
export interface Problem {
  /** where, from the root: keys and array indices */
  path: (string | number)[];
  /**
   * type: the value's kind is wrong (a TypeError); range: the right kind, outside what is accepted (a RangeError);
   * unknown: a key the shape does not have; missing: a required key is absent
   */
  kind: 'type' | 'range' | 'unknown' | 'missing';
  /**
   * the JSON Schema keyword that failed: type, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
   * maxLength, pattern, minItems, maxItems, const, enum (none of a union's literals), required,
   * additionalProperties, anyOf (no shape of a union fits) or not (more than one does)
   */
  keyword: string;
  /** the node the value at `path` should fit (for `unknown`: the object's node) */
  schema: SchemaNode;
  /** the value at `path`; undefined when missing */
  value: unknown;
  /** `type`: the type expected; `limit`: the bound a range keyword set */
  params: { type?: string; limit?: unknown };
}

const E = ValueErrorType;
/** TypeBox's error kinds as the JSON Schema keywords they check (the messages are worded per keyword). */
const KEYWORDS: Partial<Record<ValueErrorType, string>> = {
  [E.Array]: 'type',
  [E.Boolean]: 'type',
  [E.Function]: 'type',
  [E.Integer]: 'type',
  [E.Null]: 'type',
  [E.Number]: 'type',
  [E.Object]: 'type',
  [E.String]: 'type',
  [E.ArrayMinItems]: 'minItems',
  [E.ArrayMaxItems]: 'maxItems',
  [E.IntegerMinimum]: 'minimum',
  [E.IntegerMaximum]: 'maximum',
  [E.IntegerExclusiveMinimum]: 'exclusiveMinimum',
  [E.IntegerExclusiveMaximum]: 'exclusiveMaximum',
  [E.NumberMinimum]: 'minimum',
  [E.NumberMaximum]: 'maximum',
  [E.NumberExclusiveMinimum]: 'exclusiveMinimum',
  [E.NumberExclusiveMaximum]: 'exclusiveMaximum',
  [E.StringMinLength]: 'minLength',
  [E.StringMaxLength]: 'maxLength',
  [E.StringPattern]: 'pattern',
  [E.Literal]: 'const',
};

function parsePointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^(0|[1-9]\d*)$/.test(p) ? Number(p) : p));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Whether a value is of the kind a union's member takes (its type, or its literal). */
function ofKind(member: SchemaNode, value: unknown): boolean {
  if ('const' in member) return member.const === value;
  const t = jsonType(value);
  return member.type === t || (member.type === 'number' && t === 'integer');
}

/**
 * A union's problems: those of the one member the value is meant for (of its kind; among objects, the one whose
 * required keys it has); else one problem for the union: none fits (anyOf, or `enum` for a list of literals, or
 * `type` when no member is of its kind), or several objects do (not: one of them, not both).
 */
function unionProblems(e: ValueError, path: (string | number)[]): Problem[] {
  const node = e.schema as SchemaNode;
  const members = node.anyOf as SchemaNode[];
  let chosen = members.map((_, i) => i).filter((i) => ofKind(members[i], e.value));
  const objects = chosen.filter((i) => members[i].type === 'object');
  if (objects.length > 1) {
    const keys = Object.keys(e.value as object);
    chosen = objects.filter((i) =>
      ((members[i].required as string[] | undefined) ?? []).every((k) => keys.includes(k))
    );
    if (chosen.length !== 1) {
      const keyword = chosen.length === 0 ? 'anyOf' : 'not';
      return [
        { path, kind: chosen.length === 0 ? 'missing' : 'range', keyword, schema: node, value: e.value, params: {} },
      ];
    }
  }
  if (chosen.length === 1) return problemsFrom(e.errors[chosen[0]]);
  const literals = members.every((m) => 'const' in m);
  const sameKind = members.some((m) => jsonType(m.const) === jsonType(e.value));
  const type = members.every((m) => m.type === 'object') && !isObject(e.value) ? 'object' : undefined;
  const keyword = literals ? 'enum' : type ? 'type' : 'anyOf';
  const kind = literals && sameKind ? 'range' : 'type';
  return [{ path, kind, keyword, schema: node, value: e.value, params: { type } }];
}

function toProblems(e: ValueError): Problem[] {
  const path = parsePointer(e.path);
  const schema = e.schema as SchemaNode;
  if (e.type === E.Union) return unionProblems(e, path);
  if (e.type === E.ObjectRequiredProperty)
    return [{ path, kind: 'missing', keyword: 'required', schema, value: undefined, params: {} }];
  if (e.type === E.ObjectAdditionalProperties)
    return [{ path, kind: 'unknown', keyword: 'additionalProperties', schema, value: e.value, params: {} }];
  const keyword = KEYWORDS[e.type] ?? 'valid';
  // A number where a number or integer belongs is out of range (NaN, Infinity, 1.5 for an integer), not mistyped.
  const numeric = schema.type === 'number' || schema.type === 'integer';
  const kind = keyword === 'type' && !(numeric && typeof e.value === 'number') ? 'type' : 'range';
  const params = keyword === 'type' ? { type: String(schema.type) } : { limit: schema[keyword] };
  return [{ path, kind, keyword, schema, value: e.value, params }];
}

/** TypeBox's errors as problems; one per place and kind (a missing key is also reported as the wrong type). */
function problemsFrom(errors: Iterable<ValueError>): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of errors) {
    for (const p of toProblems(e)) {
      const id = `${JSON.stringify(p.path)} ${p.kind === 'unknown' ? 'unknown' : ''}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(p);
    }
  }
  return out;
}

/** Every way `value` differs from `schema` (empty when it fits). */
export function problems(schema: TSchema, value: unknown): Problem[] {
  return Value.Check(schema, value) ? [] : problemsFrom(Value.Errors(schema, value));
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
