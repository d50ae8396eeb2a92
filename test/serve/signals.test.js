'use strict';
// `qwen3-native serve` and the signals an operator, a supervisor or a closed terminal sends: SIGHUP stops it as SIGTERM
// does (the request in the model is answered); a second SIGTERM or Ctrl-C during a batch ends the process by that
// signal (status 143 or 130 in a shell), never by a crash. test/long/serve-signals.test.js repeats the second signal
// 20 times.
const test = require('ava');
const { childEnv } = require('../helpers/env');
const { busyRun, doubleSignal, killServers, sleep, spawnServe } = require('../helpers/serve');
const { tmpDir, weiboLines } = require('../helpers/util');

const WORK = tmpDir('q3n-serve-signals-');
const ENV = childEnv({ QWEN3_NATIVE_API_KEY: undefined });
const lines = weiboLines(48);
let run;

test.before(async () => {
  run = await busyRun(WORK, lines);
});
test.after.always(killServers);

test.serial('SIGHUP stops the server gracefully: the request in the model is answered, exit 0', async (t) => {
  const s = await spawnServe(['--checkpoint', run], { cwd: WORK, env: ENV });
  const texts = Array.from({ length: 64 }, (_, i) => `${lines[i % lines.length]}`.repeat(4));
  const answer = fetch(`${s.url}/v1/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts }),
  });
  await sleep(200);
  s.child.kill('SIGHUP');
  const r = await answer;
  t.is(r.status, 200);
  t.is((await r.json()).predictions.length, 64);
  const ended = await s.exited;
  t.deepEqual(ended, { code: 0, signal: null }, s.stderr);
  t.regex(s.stderr, /SIGHUP: stopping/);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  test.serial(`a second ${signal} during a batch ends serve by ${signal}, not by a crash`, async (t) => {
    const r = await doubleSignal(run, signal, { cwd: WORK, env: ENV });
    t.log(`ended by ${r.signal ?? `exit ${r.code}`}`);
    t.deepEqual({ code: r.code, signal: r.signal }, { code: null, signal }, r.stderr);
    t.regex(r.stderr, new RegExp(`${signal} again: exiting without finishing the queue`));
    t.notRegex(r.stderr, /Segmentation|Aborted|terminate called/);
  });
}
