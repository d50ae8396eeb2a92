'use strict';
// The one validator (lib/util/schema.ts) and its words (schema-errors.ts): every problem listed at once, a wrong type
// a TypeError and a value out of range a RangeError, unions answered by the shape the value is meant for, the
// schemas' defaults filled into a copy, and every schema the package declares checkable (no node TypeBox cannot walk).
const test = require('ava');
const { Type } = require('@sinclair/typebox');
const { Value } = require('@sinclair/typebox/value');
const S = require('../../dist/util/schema');
const { checkOptions, resolveOptions, fileProblemLines } = require('../../dist/util/schema-errors');

const shape = Type.Object(
  {
    size: Type.Optional(S.WithDefault(S.PositiveInt({ description: 'how many' }), 8)),
    mode: Type.Optional(S.OneOf(['fast', 'slow'])),
    ratio: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
    name: Type.Optional(S.NonEmptyString()),
    nested: Type.Optional(Type.Object({ on: Type.Boolean() }, { additionalProperties: false })),
    either: Type.Optional(Type.Union([Type.Object({ n: S.NonNegativeInt() }), Type.Literal(false)])),
  },
  { additionalProperties: false }
);

test('one message per problem, in the package shape, all at once', (t) => {
  const e = t.throws(() => checkOptions(shape, { size: 0, mode: 'medium', ratio: 1, nme: 'x', nested: { on: 1 } }));
  t.is(
    e.message,
    [
      'Unknown key "nme" in options; expected one of size, mode, ratio, name, nested, either',
      'Expected positive integer for size but received 0',
      'Expected one of "fast", "slow" for mode but received "medium"',
      'Expected number greater than 0 and less than 1 for ratio but received 1',
      'Expected boolean for nested.on but received 1',
    ].join('\n')
  );
  t.true(e instanceof TypeError, 'an unknown key and a wrong type make a TypeError');
});

test('TypeError for the wrong type, RangeError for the right type out of range', (t) => {
  t.throws(() => checkOptions(shape, { size: '8' }), {
    instanceOf: TypeError,
    message: 'Expected positive integer for size but received "8"',
  });
  for (const size of [0, 1.5, NaN, 2 ** 60]) t.throws(() => checkOptions(shape, { size }), { instanceOf: RangeError });
  t.throws(() => checkOptions(shape, { mode: 3 }), { instanceOf: TypeError });
  t.throws(() => checkOptions(shape, { mode: 'medium' }), { instanceOf: RangeError });
  t.throws(() => checkOptions(shape, []), { instanceOf: TypeError, message: /plain object for options but/ });
  t.throws(() => checkOptions(shape, { name: '' }, 'opts', true), {
    instanceOf: RangeError,
    message: 'Expected non-empty string for opts.name but received ""',
  });
});

test('a union answers with the shape the value is meant for', (t) => {
  t.throws(() => checkOptions(shape, { either: { n: -1 } }), {
    message: 'Expected non-negative integer for either.n but received -1',
  });
  t.throws(() => checkOptions(shape, { either: true }), {
    instanceOf: TypeError,
    message: 'Expected plain object or false for either but received true',
  });
  t.notThrows(() => checkOptions(shape, { either: false }));
  const body = Type.Union([
    Type.Object({ a: Type.String(), m: Type.Optional(Type.String()) }, { additionalProperties: false }),
    Type.Object({ b: Type.String(), m: Type.Optional(Type.String()) }, { additionalProperties: false }),
  ]);
  t.deepEqual(
    S.problems(body, { a: 1 }).map((p) => [p.path, p.keyword]),
    [[['a'], 'type']]
  );
  t.deepEqual(
    S.problems(body, { m: 'x' }).map((p) => [p.path, p.keyword, p.kind]),
    [[[], 'anyOf', 'missing']]
  );
  t.deepEqual(
    S.problems(body, { a: 'x', b: 'y' }).map((p) => [p.path, p.keyword]),
    [[[], 'not']]
  );
  t.deepEqual(
    S.problems(body, [1]).map((p) => [p.path, p.keyword, p.params.type]),
    [[[], 'type', 'object']]
  );
});

test('defaults fill a copy; defaultsOf lists them for help texts', (t) => {
  const given = { mode: 'fast' };
  t.deepEqual(resolveOptions(shape, given), { mode: 'fast', size: 8 });
  t.deepEqual(given, { mode: 'fast' }, 'the caller keeps its object as it was');
  t.deepEqual({ ...S.defaultsOf(shape.properties) }, { size: 8 });
});

test("a file's problems name the field and show the value as JSON", (t) => {
  const file = Type.Object({ r: S.PositiveInt(), on: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])) });
  t.deepEqual(fileProblemLines(S.problems(file, { on: 'yes' })), [
    '"r" should be a positive integer but is missing',
    '"on" should be true or false or null but is "yes"',
  ]);
});

test('every schema the package declares can be walked by TypeBox (checked, defaulted)', (t) => {
  const modules = ['train/schema', 'predict/schema', 'serve/schema', 'compare/schema', 'runs/schema', 'qwen3/schema'];
  let count = 0;
  for (const m of modules) {
    for (const [name, value] of Object.entries(require(`../../dist/${m}`))) {
      if (!name.endsWith('Schema') || typeof value !== 'object') continue;
      t.notThrows(() => Value.Check(value, {}), `${m} ${name}`);
      t.notThrows(() => Value.Default(value, {}), `${m} ${name}`);
      count++;
    }
  }
  const { routes } = require('../../dist/serve/schema');
  t.notThrows(() => Value.Check(routes({ maxTexts: 2, maxTextLength: 10 }).predict.schema.body, { texts: ['a'] }));
  t.true(count >= 15, `${count} schemas`);
});
