'use strict';
// train(data, { signal }): an abort stops the run as stop() and Ctrl-C do, after the current step with a checkpoint,
// and resume finishes the run; a signal already aborted rejects before anything is written. `await using` ends a
// running train() the same way (Symbol.asyncDispose).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { Trainer } = require('../../dist');
const { tinyBases, tmpDir, weiboData, weiboLines } = require('../helpers/util');

const data = weiboData(weiboLines(160));
let causal;
test.before(async () => {
  ({ causal } = await tinyBases(7));
});

const options = (extra = {}) => ({
  method: 'lora',
  model: causal,
  output: path.join(tmpDir(), 'run'),
  device: 'cpu',
  dtype: 'float32',
  maxLength: 32,
  batchSize: 16,
  epochs: 1,
  seed: 3,
  ...extra,
});

test.serial('an aborted train() keeps its checkpoint, and resume finishes the run', async (t) => {
  const output = path.join(tmpDir(), 'aborted');
  const controller = new AbortController();
  const first = new Trainer(options({ output }));
  let totalSteps;
  first.on('progress', (p) => {
    totalSteps = p.totalSteps;
    if (p.step === 3) controller.abort();
  });
  const partial = await first.train(data, { signal: controller.signal });
  t.true(partial.stopped);
  t.is(partial.steps, 3);
  t.true(totalSteps > 3, `${totalSteps} steps in the run`);
  t.true(fs.existsSync(path.join(partial.checkpoint, 'trainer_state.json')), partial.checkpoint);

  const second = new Trainer(options({ output, resume: true }));
  const resumed = [];
  second.on('log', (line) => resumed.push(line));
  const done = await second.train(data);
  t.false(done.stopped);
  t.is(done.steps, totalSteps);
  t.true(
    resumed.some((l) => l.startsWith('resumed from') && l.endsWith('at step 3')),
    resumed.join('\n')
  );
  t.true(fs.existsSync(path.join(output, 'adapter_model.safetensors')));
});

test.serial('a signal aborted before train() rejects with its reason and writes nothing', async (t) => {
  const output = path.join(tmpDir(), 'never');
  const reason = new Error('not now');
  const e = await t.throwsAsync(new Trainer(options({ output })).train(data, { signal: AbortSignal.abort(reason) }));
  t.is(e, reason);
  t.false(fs.existsSync(output));
  t.false(fs.existsSync(`${output}.partial`));
  const wrong = await t.throwsAsync(new Trainer(options({ output })).train(data, { signal: 'stop' }));
  t.regex(wrong.message, /signal/);
});

test.serial('Symbol.asyncDispose stops a running train() and waits for its checkpoint', async (t) => {
  const trainer = new Trainer(options());
  let disposed;
  trainer.on('progress', (p) => {
    if (p.step === 2) disposed = trainer[Symbol.asyncDispose]();
  });
  const result = await trainer.train(data);
  await disposed;
  t.true(result.stopped);
  t.is(result.steps, 2);
  t.truthy(result.checkpoint);
  await trainer[Symbol.asyncDispose](); // nothing running: resolves at once
});
