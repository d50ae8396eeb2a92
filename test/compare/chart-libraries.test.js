'use strict';
// vega and vega-lite are optional peer dependencies: without them, compare and report fail at once (before any
// training) with one message naming the install command, and the rest of the package never needs them.
const fs = require('fs');
const path = require('path');
const Module = require('module');
const test = require('ava');
const { requireChartLibraries, CHART_LIBRARIES_INSTALL } = require('../../dist/compare/charts');
const { cli, clean, ROOT } = require('../helpers/cli');
const { tmpDir } = require('../helpers/util');

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** Runs fn with vega and vega-lite unresolvable in this process, as in an install without them. */
async function withoutCharts(fn) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    if (request === 'vega' || request === 'vega-lite') {
      throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    }
    return resolve.call(this, request, ...rest);
  };
  try {
    return await fn();
  } finally {
    Module._resolveFilename = resolve;
  }
}

test('vega and vega-lite are optional peers (and installed for development), in the range the message names', (t) => {
  for (const name of ['vega', 'vega-lite']) {
    t.is(pkg.dependencies[name], undefined, `${name} is not a dependency`);
    t.true(pkg.peerDependenciesMeta[name].optional, `${name} is an optional peer`);
    t.truthy(pkg.devDependencies[name], `${name} is a dev dependency`);
    const major = /^\^(\d+)\./.exec(pkg.peerDependencies[name])[1];
    t.true(
      CHART_LIBRARIES_INSTALL.includes(`${name}@${major}`),
      `${CHART_LIBRARIES_INSTALL} installs ${name}@${major}`
    );
  }
  t.notThrows(() => requireChartLibraries());
});

test('requireChartLibraries names what is missing and the install command', (t) => {
  const resolve = (name) => {
    if (name === 'vega-lite') throw new Error('not found');
    return name;
  };
  const e = t.throws(() => requireChartLibraries(resolve));
  t.regex(e.message, /missing: vega-lite\)/);
  t.true(e.message.endsWith(CHART_LIBRARIES_INSTALL), e.message);
});

test('without vega, `report` and `compare` exit 1 with one line naming the install command, before any work', async (t) => {
  const dir = tmpDir();
  const run = path.join(dir, 'run');
  fs.mkdirSync(run);
  fs.writeFileSync(path.join(run, 'run.json'), '{}');
  const out = path.join(dir, 'cmp');
  const sample = path.join(ROOT, 'data', 'weibo_sample_test.txt');
  const [report, compare] = await withoutCharts(async () => [
    await cli(['report', run], { cwd: dir }),
    await cli(['compare', '--model', 'tiny', '--train', sample, '--test', sample, '--out', out], {
      cwd: dir,
    }),
  ]);
  for (const [what, r] of Object.entries({ report, compare })) {
    clean(t, r, what);
    t.is(r.code, 1, `${what}: ${r.stderr}`);
    t.is((r.stderr.match(/^error:/gm) ?? []).length, 1, `${what}: one error line:\n${r.stderr}`);
    t.true(r.stderr.includes(CHART_LIBRARIES_INSTALL), `${what}: ${r.stderr}`);
  }
  t.false(fs.existsSync(out), 'compare trained nothing and wrote nothing');
});
