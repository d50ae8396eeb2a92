'use strict';
// An operator's second SIGTERM (or Ctrl-C) while `serve` predicts a batch, 20 times each: every trial ends by that
// signal (143 or 130 in a shell), none by a native crash (SIGSEGV or SIGABRT: 9 of 13 before the server ended by the
// signal itself). About 2.5 s a trial.
const test = require('ava');
const path = require('path');
const { childEnv } = require('../helpers/env');
const { doubleSignal, killServers } = require('../helpers/serve');
const { tmpDir, trainTinyLoraRun, weiboLines } = require('../helpers/util');

const TRIALS = 20;
const WORK = tmpDir('q3n-serve-signals-long-');
const ENV = childEnv({ QWEN3_NATIVE_API_KEY: undefined });
let run;

test.before(async () => {
  const lines = weiboLines(48);
  run = await trainTinyLoraRun({
    base: path.join(WORK, 'base'),
    seed: 3,
    output: path.join(WORK, 'models', 'run'),
    texts: lines.map((l) => l.slice(0, l.lastIndexOf('\t'))),
    labels: lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1))),
    maxLength: 256,
  });
});
test.after.always(killServers);

for (const signal of ['SIGTERM', 'SIGINT']) {
  test.serial(`a second ${signal} under load ends serve by ${signal} in ${TRIALS} of ${TRIALS} trials`, async (t) => {
    const ends = [];
    for (let i = 0; i < TRIALS; i++) {
      const r = await doubleSignal(run, signal, { cwd: WORK, env: ENV });
      ends.push(r.signal ?? `exit ${r.code}`);
      t.notRegex(r.stderr, /Segmentation|Aborted|terminate called/, `trial ${i + 1}`);
    }
    const counts = ends.reduce((m, e) => ({ ...m, [e]: (m[e] ?? 0) + 1 }), {});
    t.log(`${TRIALS} trials ended by: ${JSON.stringify(counts)}`);
    t.deepEqual(counts, { [signal]: TRIALS });
  });
}
