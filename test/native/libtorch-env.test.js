'use strict';
// A LIBTORCH that points at no libtorch is said (a Node warning, code QWEN3_NATIVE_LIBTORCH), not silently replaced by
// the next libtorch found; a real one, or none set, says nothing.
const fs = require('fs');
const path = require('path');
const test = require('ava');
const { spawnCli } = require('../helpers/cli');
const { tmpDir } = require('../helpers/util');
const finder = require('../../scripts/find-libtorch.js');

test('libtorchEnvProblem: unset or a libtorch -> null; a folder without its libraries -> the reason', (t) => {
  t.is(finder.libtorchEnvProblem({}), null);
  const fake = tmpDir();
  fs.mkdirSync(path.join(fake, 'lib'));
  for (const lib of ['libc10.so', 'libtorch_cpu.so']) fs.writeFileSync(path.join(fake, 'lib', lib), '');
  t.is(finder.libtorchEnvProblem({ LIBTORCH: fake }), null);
  const problem = finder.libtorchEnvProblem({ LIBTORCH: '/nonexistent' });
  t.true(problem.startsWith('LIBTORCH=/nonexistent is not a libtorch (no libc10/libtorch_cpu in /nonexistent/lib)'));
  t.regex(problem, /ignored.*Point it at an unpacked libtorch/);
});

test('`info` with LIBTORCH=/nonexistent warns once on stderr and goes on with the libtorch it finds', async (t) => {
  const r = await spawnCli(['info'], { env: { LIBTORCH: '/nonexistent' } });
  t.is(r.code, 0, r.stderr);
  const warnings = r.stderr.match(/\[QWEN3_NATIVE_LIBTORCH\] Warning: LIBTORCH=\/nonexistent is not a libtorch/g) ?? [];
  t.is(warnings.length, 1, r.stderr);
  t.regex(r.stdout, /^libtorch\s+\d/m);

  const plain = await spawnCli(['info'], { env: { LIBTORCH: undefined } });
  t.is(plain.code, 0, plain.stderr);
  t.false(plain.stderr.includes('QWEN3_NATIVE_LIBTORCH'), plain.stderr);
});
