'use strict';
// An operator's second SIGTERM (20 times) or Ctrl-C (5 times) while `serve` predicts a batch: every trial ends by that
// signal (143 or 130 in a shell), none by a native crash (SIGSEGV or SIGABRT: 9 of 13 before the server ended by the
// signal itself). About 2.7 s a trial, 70 s in all.
const test = require('ava');
const { childEnv } = require('../helpers/env');
const { busyRun, doubleSignal, killServers } = require('../helpers/serve');
const { tmpDir, weiboLines } = require('../helpers/util');

const TRIALS = { SIGTERM: 20, SIGINT: 5 };
const WORK = tmpDir('q3n-serve-signals-long-');
const ENV = childEnv({ QWEN3_NATIVE_API_KEY: undefined });
let run;

test.before(async () => {
  run = await busyRun(WORK, weiboLines(48));
});
test.after.always(killServers);

for (const [signal, trials] of Object.entries(TRIALS)) {
  test.serial(`a second ${signal} under load ends serve by ${signal} in ${trials} of ${trials} trials`, async (t) => {
    const ends = [];
    for (let i = 0; i < trials; i++) {
      const r = await doubleSignal(run, signal, { cwd: WORK, env: ENV });
      ends.push(r.signal ?? `exit ${r.code}`);
      t.notRegex(r.stderr, /Segmentation|Aborted|terminate called/, `trial ${i + 1}`);
    }
    const counts = ends.reduce((m, e) => ({ ...m, [e]: (m[e] ?? 0) + 1 }), {});
    t.log(`${trials} trials ended by: ${JSON.stringify(counts)}`);
    t.deepEqual(counts, { [signal]: trials });
  });
}
