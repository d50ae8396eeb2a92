'use strict';
// The event loop while a model loads and while a short training runs (and the soak's lag check).
// Each measurement is a fresh process (helpers/lag-child.js), so the load is cold: the addon, libtorch and the
// tokenizer all load inside it, as for a user's first call.
//
// What is bounded is the JS thread's own CPU time between two ticks of a 2 ms timer (helpers/lag.js): the work that
// blocks the loop. Before the fix, cold, it was 1.85 s for Qwen3Model.load(), 2.03 s for Predictor.load() and 1.90 s in
// a short training run (7.6-9.6 s of wall clock on this loaded 2-core machine): libtorch's loading and the tokenizer's
// parse, both synchronous on the JS thread. After it: 7-17 ms. The wall-clock gaps are logged, not asserted: with
// other builds running they reached 85-270 ms while the JS thread itself used under 17 ms of CPU (it waited for a
// core, or its virtual CPU was not running), which no code change can prevent. The 50 ms bound is 3x the worst CPU
// stretch measured after the fix and 37x below the smallest before it: it cannot pass with the old code, nor fail by
// chance with the new.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { tmpDir, weiboLines, trainTinyLoraRun } = require('../helpers/util');

const CHILD = path.join(__dirname, '..', 'helpers', 'lag-child.js');
const BOUND_MS = 50;
const ROUNDS = 2; // the spread: every round must stay under the bound

const root = tmpDir('q3n-lag-');
const base = path.join(root, 'base');
const lines = weiboLines(64);
const data = {
  texts: lines.map((l) => l.slice(0, l.lastIndexOf('\t'))),
  labels: lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1))),
};
let run;

test.before(async () => {
  run = await trainTinyLoraRun({
    base,
    seed: 11,
    output: path.join(root, 'run'),
    texts: data.texts.slice(0, 16),
    labels: data.labels.slice(0, 16),
  });
});

test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

function measure(spec) {
  const out = execFileSync(process.execPath, [CHILD, JSON.stringify(spec)], { encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(out.trim().split('\n').pop());
}

function check(t, what, spec) {
  for (let round = 1; round <= ROUNDS; round++) {
    const lag = measure(spec);
    t.log(
      `${what} #${round}: JS thread busy at most ${lag.busyMs.toFixed(1)} ms between ticks, asleep at most ` +
        `${lag.asleepMs.toFixed(1)} ms; ` +
        `longest wall-clock gap ${lag.stallMs.toFixed(0)} ms (monitorEventLoopDelay max ${lag.delayMaxMs.toFixed(0)} ms, ${lag.ticks} ticks)`
    );
    t.true(lag.busyMs < BOUND_MS, `${what}: the JS thread was busy for ${lag.busyMs.toFixed(1)} ms at a stretch`);
  }
}

test.serial('a cold Qwen3Model.load() keeps the event loop free', (t) => {
  check(t, 'Qwen3Model.load', { what: 'model', dir: base });
});

test.serial('a cold Predictor.load() and first predictions keep the event loop free', (t) => {
  check(t, 'Predictor.load', { what: 'predictor', run });
});

test.serial('a short training run, load included, keeps the event loop free', (t) => {
  check(t, 'Trainer.train', {
    what: 'train',
    options: {
      method: 'lora',
      model: base,
      output: path.join(root, 'train-run'),
      epochs: 1,
      batchSize: 8,
      maxLength: 32,
      devFraction: 0.25,
      cacheDir: tmpDir(),
    },
    data,
  });
});
