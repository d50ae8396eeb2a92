'use strict';
// The package's declarations (dist/*.d.ts) as TypeScript users meet them: test/types/*.ts type-check against them with
// @types/node, and without it (the DOM library's AbortSignal then); scripts/check-package.sh does the same on the
// packed tarball in a fresh app. A wrong call must fail to compile, so these checks can fail.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const ts = require('typescript');
const { tmpDir } = require('../helpers/util');

const ROOT = path.resolve(__dirname, '..', '..');
const HERE = __dirname;

/** The compile errors of `files` against dist/index.d.ts, as a user with `types` and `lib` would get them. */
function errors(files, { types, lib }) {
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types,
    lib,
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    paths: { 'qwen3-native': [path.join(ROOT, 'dist', 'index.d.ts')] },
  };
  const program = ts.createProgram(files, options);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) => `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
    );
}

const WITHOUT_NODE = { types: [], lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'] };
const WITH_NODE = { types: ['node'], lib: ['lib.es2022.d.ts'] };

test('await using, AbortSignal and the union predict compile without @types/node', (t) => {
  t.deepEqual(errors([path.join(HERE, 'conventions.ts')], WITHOUT_NODE), []);
});

test('... and with @types/node, where events.on / events.once take a Trainer', (t) => {
  t.deepEqual(errors([path.join(HERE, 'conventions.ts'), path.join(HERE, 'node-events.ts')], WITH_NODE), []);
});

test('a wrong call does not compile (the checks above can fail)', (t) => {
  const file = path.join(tmpDir(), 'wrong.ts');
  fs.writeFileSync(
    file,
    [
      "import { Predictor, Trainer } from 'qwen3-native';",
      "export const a: Promise<number> = new Predictor('0.6B').predict('x');",
      "export const b = new Trainer({ method: 'lora' }).train('d.txt', { signal: 3 });",
      "new Trainer({ method: 'lora' }).on('progress', (p) => p.noSuchField);",
    ].join('\n')
  );
  const found = errors([file], WITHOUT_NODE);
  t.is(found.length, 3, found.join('\n'));
  t.true(
    found.some((e) => e.includes("'noSuchField' does not exist on type 'ProgressEvent'")),
    found.join('\n')
  );
});
