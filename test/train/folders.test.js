'use strict';
// Where a run may be written, and what training shows of names it was given: an output folder holding files this
// package did not write is refused before any work (a user's notes beside a run, a Python PEFT adapter with its
// README), files added while a run trains are kept beside the run it replaces, a read-only file system is named as
// such; a label holding {text} is refused for lora, and label names reach the terminal escaped.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Trainer, resolveModel } = require('../../dist');
const { tmpDir, weiboData, weiboLines } = require('../helpers/util');
const { BIN, cli } = require('../helpers/cli');
const { childEnv } = require('../helpers/env');

const lines = weiboLines(64);
const SHARED = tmpDir('q3n-folders-');
const TRAIN = path.join(SHARED, 'train.txt');
fs.writeFileSync(TRAIN, lines.join('\n') + '\n');
const data = weiboData(lines);

let tiny;
let finished;
test.before(async () => {
  tiny = (await resolveModel('tiny', { modelsDir: path.join(SHARED, 'models') })).dir;
  finished = path.join(SHARED, 'finished');
  await new Trainer(small({ output: finished })).train(data);
});

function small(extra = {}) {
  return { method: 'lora', model: tiny, device: 'cpu', maxLength: 32, batchSize: 16, epochs: 1, seed: 1, ...extra };
}

const listing = (dir) => fs.readdirSync(dir).sort();

test('a run folder holding files this package did not write is refused, and nothing is deleted', async (t) => {
  const output = path.join(tmpDir(), 'run');
  fs.cpSync(finished, output, { recursive: true });
  fs.writeFileSync(path.join(output, 'my_notes.txt'), 'mine');
  fs.mkdirSync(path.join(output, 'eval_results'));
  const before = listing(output);
  const e = await t.throwsAsync(new Trainer(small({ output })).train(data));
  t.regex(e.message, /holds a trained run and files this package did not write \(eval_results, my_notes\.txt\)/);
  t.regex(e.message, /Move them elsewhere, or choose a new or empty folder/);
  t.deepEqual(listing(output), before);
});

test('a PEFT adapter folder from elsewhere (README, a second adapter) is refused by the CLI, exit 1', async (t) => {
  const cwd = tmpDir();
  const peft = path.join(cwd, 'peft');
  fs.mkdirSync(peft);
  fs.writeFileSync(path.join(peft, 'adapter_config.json'), '{"peft_type":"LORA"}');
  fs.writeFileSync(path.join(peft, 'README.md'), 'x');
  fs.writeFileSync(path.join(peft, 'other_adapter.safetensors'), 'x');
  const before = listing(peft);
  const r = await cli(['train', '--method', 'lora', '--model', tiny, '--train', TRAIN, '--output', 'peft'], { cwd });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /holds a PEFT adapter this package did not train \(adapter_config\.json without run\.json; also/);
  t.regex(r.stderr, /README\.md, other_adapter\.safetensors/);
  t.deepEqual(listing(peft), before);
});

test('a file added to the output folder while the run trains is kept with the run it replaced', async (t) => {
  const output = path.join(tmpDir(), 'run');
  fs.cpSync(finished, output, { recursive: true });
  const trainer = new Trainer(small({ output }));
  const logs = [];
  trainer.on('log', (line) => logs.push(line));
  trainer.once('progress', () => fs.writeFileSync(path.join(output, 'added.txt'), 'added while training'));
  await trainer.train(data);
  const kept = fs.readdirSync(path.dirname(output)).filter((n) => n.startsWith('run.replaced-'));
  t.is(kept.length, 1, logs.join('\n'));
  t.is(fs.readFileSync(path.join(path.dirname(output), kept[0], 'added.txt'), 'utf8'), 'added while training');
  t.true(fs.existsSync(path.join(output, 'run.json')), 'the new run is published');
  t.true(
    logs.some((l) => l.includes(`are kept with the run it replaced: ${path.join(path.dirname(output), kept[0])}`))
  );
});

test('predict --out X < X is refused like --file X --out X, and X is left as it was', (t) => {
  const cwd = tmpDir();
  const posts = data.texts.slice(0, 4).map((text, i) => JSON.stringify({ text, label: data.labels[i] }));
  fs.writeFileSync(path.join(cwd, 't.jsonl'), posts.join('\n') + '\n');
  const before = fs.readFileSync(path.join(cwd, 't.jsonl'), 'utf8');
  const r = spawnSync(
    'bash',
    ['-c', `exec "${process.execPath}" "${BIN}" predict --checkpoint "${finished}" --out t.jsonl < t.jsonl`],
    { cwd, encoding: 'utf8', env: childEnv(), timeout: 60_000 }
  );
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /--out t\.jsonl is the file standard input reads \(--out t\.jsonl < t\.jsonl\)/);
  t.is(fs.readFileSync(path.join(cwd, 't.jsonl'), 'utf8'), before);
});

// A read-only tmpfs needs root (CI runs as root); elsewhere the check is skipped with one line.
const readOnly = (() => {
  if (process.getuid?.() !== 0) return undefined;
  const dir = tmpDir('q3n-ro-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
  return r.status === 0 ? dir : undefined;
})();
test.after.always(() => readOnly && spawnSync('umount', [readOnly]));

(readOnly || process.env.CI ? test : test.skip)('an output on a read-only file system is named as such', async (t) => {
  t.truthy(readOnly, 'CI runs as root and can mount a read-only tmpfs');
  const output = path.join(readOnly, 'models', 'run');
  const e = await t.throwsAsync(new Trainer(small({ output })).train(data));
  t.is(e.code, 'EROFS');
  t.is(e.message, `cannot create ${output}.partial: ${readOnly} is on a read-only file system (EROFS)`);
});

test("a label holding {text} is refused for lora (it would take the post's place in the prompt)", async (t) => {
  const output = path.join(tmpDir(), 'run');
  const e = await t.throwsAsync(new Trainer(small({ output, labels: ['{text}', 'b'] })).train(data));
  t.regex(
    e.message,
    /labels "\{text\}": lora's prompt lists the labels, and \{text\} in a label would take the post's place/
  );
  t.false(fs.existsSync(`${output}.partial`), 'refused before anything is written');
  // Other methods have no prompt: the same labels train.
  await t.notThrowsAsync(new Trainer(small({ method: 'lora-head', output, labels: ['{text}', 'b'] })).train(data));
});

test("train's dev-set table and its notes show label names' control characters instead of acting on them", async (t) => {
  const cwd = tmpDir();
  const osc = 'pos\x1b]0;PWNED\x07';
  const r = await cli(
    ['train', '--method', 'lora-head', '--model', tiny, '--train', TRAIN, '--labels', `neg,${osc}`, '--output', 'r'],
    { cwd }
  );
  t.is(r.code, 0, r.stderr);
  t.false(/[\x1b\x07]/.test(r.stdout + r.stderr), 'no raw escape reaches the terminal');
  t.true(r.stdout.includes('P(pos\\x1b]0;PWNED\\x07)'), r.stdout);
});
