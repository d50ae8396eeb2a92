'use strict';
// Run folders through the Trainer and Predictor API: a finished run is replaced only by a finished one,
// long-run options, the data fingerprint, the base model protected, divergence stopped, one train() at a time,
// damaged files named, stale staging cleaned. Tiny random models, a couple of optimizer steps each.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { createTinyQwen3, Trainer, Predictor, resolveModel } = require('../../dist');
const { writeSafetensors } = require('../../dist/qwen3/safetensors');
const { readSafetensors } = require('../helpers/safetensors');
const { tmpDir, weiboLines } = require('../helpers/util');

const lines = weiboLines(96);
const data = {
  texts: lines.map((l) => l.slice(0, l.lastIndexOf('\t'))),
  labels: lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1))),
};
const other = { texts: data.texts.slice(0, 80), labels: data.labels.slice(0, 80) };

let base;
test.before(async () => {
  base = path.join(tmpDir(), 'base');
  await createTinyQwen3(base, { seed: 7 });
});

const options = (extra = {}) => ({
  method: 'lora',
  model: base,
  device: 'cpu',
  dtype: 'float32',
  maxLength: 32,
  batchSize: 16,
  epochs: 1,
  seed: 3,
  ...extra,
});

const bytes = (file) => fs.readFileSync(file);
const same = (a, b) => Buffer.compare(a, b) === 0;
/** Copies the files of a folder (not its sub-folders). */
const copyDir = (src, dst) => (
  fs.cpSync(src, dst, { recursive: true, filter: (f) => f === src || fs.statSync(f).isFile() }),
  dst
);
/** A pid that certainly belonged to a process that has ended. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid;

async function finishedRun(extra = {}) {
  const output = path.join(tmpDir(), 'run');
  await new Trainer(options({ output, ...extra })).train(data);
  return output;
}

test('a run stopped part-way leaves the finished run in place and servable; resume publishes it', async (t) => {
  const output = await finishedRun();
  const before = {
    run: bytes(path.join(output, 'run.json')),
    adapter: bytes(path.join(output, 'adapter_model.safetensors')),
  };

  const second = new Trainer(options({ output, learningRate: 1e-3 }));
  second.on('progress', (p) => p.step === 1 && second.stop());
  const stopped = await second.train(data);
  t.true(stopped.stopped);
  t.is(stopped.checkpoint, path.join(`${output}.partial`, 'checkpoint'));
  t.true(same(bytes(path.join(output, 'run.json')), before.run), 'run.json untouched');
  t.true(same(bytes(path.join(output, 'adapter_model.safetensors')), before.adapter), 'weights untouched');
  const p = new Predictor({ checkpoint: output, device: 'cpu', dtype: 'float32' });
  t.is((await p.predict(['好', '坏'])).length, 2, 'the finished run is still served');
  p.dispose();

  const resumed = await new Trainer(options({ output, learningRate: 1e-3, resume: true })).train(data);
  t.false(resumed.stopped);
  t.is(JSON.parse(fs.readFileSync(path.join(output, 'run.json'), 'utf8')).hyperParameters.learningRate, 1e-3);
  t.false(fs.existsSync(`${output}.partial`), 'published: the work folder became the run');
});

test('saveSteps and saveTotalLimit keep the newest checkpoints; a finished full run drops them unless kept', async (t) => {
  const output = path.join(tmpDir(), 'run');
  const trainer = new Trainer(options({ output, batchSize: 8, saveSteps: 1, saveTotalLimit: 3 }));
  const saved = [];
  trainer.on('checkpoint', (c) => saved.push(c.step));
  const r = await trainer.train(data);
  t.deepEqual(
    saved,
    Array.from({ length: r.steps }, (_, i) => i + 1),
    'a checkpoint after every step'
  );
  const kept = fs
    .readdirSync(output)
    .filter((f) => f.startsWith('checkpoint'))
    .sort((a, b) => a.length - b.length || a.localeCompare(b));
  t.deepEqual(kept, ['checkpoint', `checkpoint-${r.steps - 2}`, `checkpoint-${r.steps - 1}`]);

  const full = path.join(tmpDir(), 'full');
  const log = [];
  const ft = new Trainer(options({ method: 'full', output: full, maxSamples: 16 }));
  ft.on('log', (l) => log.push(l));
  await ft.train(data);
  t.false(fs.existsSync(path.join(full, 'checkpoint')), 'a finished full run has no checkpoint/');
  t.true(
    log.some((l) => /keepCheckpoint: true \(--keep-checkpoint\)/.test(l)),
    'and says how to keep it'
  );
  const keptFull = path.join(tmpDir(), 'full-kept');
  await new Trainer(options({ method: 'full', output: keptFull, maxSamples: 16, keepCheckpoint: true })).train(data);
  t.true(fs.existsSync(path.join(keptFull, 'checkpoint', 'trainer_state.json')));
});

test('the run records its data; resume refuses other training data by name', async (t) => {
  const dir = tmpDir();
  const file = path.join(dir, 'train.txt');
  fs.writeFileSync(file, lines.join('\n'));
  const output = path.join(dir, 'run');
  const first = new Trainer(options({ output, batchSize: 8 }));
  first.on('progress', (p) => p.step === 2 && first.stop());
  await first.train(file);
  const state = JSON.parse(fs.readFileSync(path.join(`${output}.partial`, 'checkpoint', 'trainer_state.json'), 'utf8'));
  t.is(state.info.data.train.name, file);
  t.is(state.info.data.train.count, 96);
  t.regex(state.info.data.train.sha256, /^[0-9a-f]{64}$/);
  const otherFile = path.join(dir, 'other.txt');
  fs.writeFileSync(otherFile, lines.slice(0, 80).join('\n'));
  await t.throwsAsync(new Trainer(options({ output, batchSize: 8, resume: true })).train(otherFile), {
    message: /other training data[\s\S]*train\.txt \(96 examples[\s\S]*other\.txt \(80 examples/,
  });
  const done = await new Trainer(options({ output, batchSize: 8, resume: true })).train(file);
  t.false(done.stopped);
  t.is(JSON.parse(fs.readFileSync(path.join(output, 'run.json'), 'utf8')).data.train.count, 96);
});

test('an output folder that is, holds or is inside the base model is refused before any work', async (t) => {
  const copy = copyDir(base, path.join(tmpDir(), 'base-copy'));
  const before = fs.readdirSync(copy).sort();
  const weights = bytes(path.join(copy, 'model.safetensors'));
  for (const [output, message] of [
    [copy, /is the base model|holds a model/],
    [path.join(copy, 'sub'), /inside the base model/],
    [path.dirname(copy), /not a trained run|holds the base model/],
  ]) {
    await t.throwsAsync(new Trainer(options({ method: 'full', model: copy, output })).train(data), { message });
  }
  t.deepEqual(fs.readdirSync(copy).sort(), before, 'nothing was written into the base model folder');
  t.true(same(bytes(path.join(copy, 'model.safetensors')), weights));
});

test('a diverging run stops with the step and what to try; a NaN adapter is refused by predict', async (t) => {
  const output = await finishedRun();
  const before = bytes(path.join(output, 'adapter_model.safetensors'));
  const { TrainingDivergedError } = require('../../dist');
  const error = await t.throwsAsync(
    new Trainer(options({ output, learningRate: 1e30, batchSize: 8, maxGradNorm: 0 })).train(data)
  );
  t.true(error instanceof TrainingDivergedError, error.message);
  t.regex(error.message, /diverged at step \d+: .* is (NaN|-?Infinity)/);
  t.regex(error.message, /lower learning rate/);
  t.true(same(bytes(path.join(output, 'adapter_model.safetensors')), before), 'the finished run is untouched');

  const nan = copyDir(output, path.join(tmpDir(), 'nan-run'));
  const file = path.join(nan, 'adapter_model.safetensors');
  const { tensors } = await readSafetensors(file);
  for (const v of Object.values(tensors)) v.data.fill(NaN);
  await writeSafetensors(
    file,
    Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, { dtype: 'F32', shape: v.shape, data: v.data }]))
  );
  const p = new Predictor({ checkpoint: nan, device: 'cpu', dtype: 'float32' });
  // Refused as it loads, before any text (it loaded and answered non-finite probabilities before).
  await t.throwsAsync(p.predict('今天天气真好'), {
    message: /nan-run.*adapter_model\.safetensors holds NaN or infinite values \(.*lora_A/,
  });
  p.dispose();
});

test('one train() at a time per Trainer; two trainings of one output in a process collide loudly', async (t) => {
  const output = path.join(tmpDir(), 'run');
  const trainer = new Trainer(options({ output }));
  const first = trainer.train(data);
  await t.throwsAsync(trainer.train(data), { message: /already training \(one train\(\) at a time/ });
  const twin = new Trainer(options({ output }));
  // The twin waits for the first to claim the output (after loading data and the base model).
  await new Promise((resolve) => trainer.once('log', resolve));
  await t.throwsAsync(twin.train(data), { message: /already being trained by this process/ });
  t.false((await first).stopped);
  t.true(fs.existsSync(path.join(output, 'run.json')));
});

test("two first uses of the tiny model at once never delete each other's folder", async (t) => {
  const modelsDir = tmpDir();
  const dir = path.join(modelsDir, 'tiny');
  const removed = [];
  const rm = fs.promises.rm;
  fs.promises.rm = (p, o) => (removed.push(path.resolve(p)), rm(p, o));
  try {
    const [a, b] = await Promise.all([resolveModel('tiny', { modelsDir }), resolveModel('tiny', { modelsDir })]);
    t.is(a.dir, dir);
    t.is(b.dir, dir);
  } finally {
    fs.promises.rm = rm;
  }
  t.false(removed.includes(dir), 'the finished folder was never removed (a reader of it would have failed)');
  t.deepEqual(fs.readdirSync(modelsDir), ['tiny'], 'no temporary folder left');
  t.deepEqual(fs.readdirSync(dir).sort(), [
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
});

test('damaged JSON files are named, with what to do; never a bare parse error or TypeError', async (t) => {
  const output = await finishedRun();
  const broken = (name, mutate) => {
    const dir = copyDir(output, path.join(tmpDir(), name));
    mutate(dir);
    return dir;
  };
  const predictError = async (dir, extra = {}) => {
    const p = new Predictor({ checkpoint: dir, device: 'cpu', dtype: 'float32', ...extra });
    const e = await t.throwsAsync(p.predict('好'));
    p.dispose();
    t.false(e instanceof TypeError, e.message);
    return e.message;
  };
  const truncated = broken('truncated', (d) => fs.writeFileSync(path.join(d, 'run.json'), '{"format": "qwen3-n'));
  t.regex(await predictError(truncated), /truncated[/\\]run\.json: it is not valid JSON .*truncated.*train it again/);
  const nul = broken('null', (d) => fs.writeFileSync(path.join(d, 'run.json'), 'null'));
  t.regex(await predictError(nul), /null[/\\]run\.json: expected a JSON object .* but found null/);
  const adapter = broken('adapter', (d) => {
    fs.rmSync(path.join(d, 'run.json'));
    fs.writeFileSync(path.join(d, 'adapter_config.json'), 'null');
  });
  t.regex(await predictError(adapter, { model: base }), /adapter_config\.json: expected a JSON object/);
  const rank = broken('rank', (d) => {
    fs.rmSync(path.join(d, 'run.json'));
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'adapter_config.json'), 'utf8'));
    fs.writeFileSync(path.join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, r: '8' }));
  });
  t.regex(
    await predictError(rank, { model: base }),
    /adapter_config\.json: "r" should be a positive integer but is "8"/
  );
  const vocab = broken('vocab', (d) => {
    const info = JSON.parse(fs.readFileSync(path.join(d, 'run.json'), 'utf8'));
    fs.writeFileSync(path.join(d, 'run.json'), JSON.stringify({ ...info, labelTokens: [103276, 999999] }));
  });
  t.regex(await predictError(vocab), /token ids 999999 .* outside the base model's vocabulary/);
  const nullBase = copyDir(base, path.join(tmpDir(), 'null-base'));
  fs.writeFileSync(path.join(nullBase, 'config.json'), 'null');
  t.regex(await predictError(output, { model: nullBase }), /config\.json: expected a JSON object .* but found null/);

  // A damaged trainer_state.json: resume names it.
  const run = path.join(tmpDir(), 'resume');
  const first = new Trainer(options({ output: run, batchSize: 8 }));
  first.on('progress', (p) => p.step === 1 && first.stop());
  await first.train(data);
  fs.writeFileSync(path.join(`${run}.partial`, 'checkpoint', 'trainer_state.json'), '{"globalStep": 1, "epo');
  const e = await t.throwsAsync(new Trainer(options({ output: run, batchSize: 8, resume: true })).train(data));
  t.regex(e.message, /trainer_state\.json: it is not valid JSON .*checkpoint is damaged/);
});

test('staging leftovers of dead processes are cleaned up when a training claims the run', async (t) => {
  const output = await finishedRun();
  const dead = deadPid();
  const leftovers = [
    path.join(output, `checkpoint.staging-${dead}`),
    path.join(output, `.publish.tmp-${dead}-0badc0de`),
    path.join(output, `run.json.tmp-${dead}-12345678`),
    path.join(output, `adapter_model.safetensors.tmp-${dead}`),
  ];
  for (const f of leftovers) fs.mkdirSync(f, { recursive: true });
  const alive = path.join(output, `adapter_model.safetensors.tmp-${process.pid}-feedbeef`);
  fs.writeFileSync(alive, '');
  const mine = path.join(path.dirname(output), `notes.tmp-${dead}`);
  fs.writeFileSync(mine, 'a file of the user beside the run: not ours to clean');
  // Stopped after one step, so the finished run is not replaced: what goes, the cleaner removed.
  const trainer = new Trainer(options({ output, batchSize: 8 }));
  trainer.on('progress', (p) => p.step === 1 && trainer.stop());
  t.true((await trainer.train(data)).stopped);
  for (const f of leftovers) t.false(fs.existsSync(f), `${path.basename(f)} removed`);
  t.true(fs.existsSync(alive), "a live process's temporary file stays");
  t.true(fs.existsSync(mine), 'files beside the run folder are left alone');
  t.true(fs.existsSync(path.join(output, 'run.json')));
  // A work folder that a live process owns is not taken over.
  fs.writeFileSync(
    path.join(`${output}.partial`, 'owner.json'),
    JSON.stringify({ pid: process.ppid, host: require('os').hostname(), startedAt: 'then', token: 'x' })
  );
  await t.throwsAsync(new Trainer(options({ output })).train(data), { message: /in use by another training \(pid/ });
});
