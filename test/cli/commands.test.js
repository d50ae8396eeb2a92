'use strict';
// The qwen3-native CLI, run in process (helpers/cli.js: main with captured streams; a real process where a signal, a
// terminal or npx is the point) in a temporary working directory, so ./models is isolated; HF_HUB_OFFLINE=1 and a temporary HF_HOME keep everything off the network. Models are the `tiny`
// random ones, trained with tiny settings: this checks the plumbing, not accuracy.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { cli: runCli } = require('../helpers/cli');
const { childEnv, HF_HOME } = require('../helpers/env');
const { tmpDir } = require('../helpers/util');

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const WEIBO = path.resolve(ROOT, '..', 'shared', 'data', 'weibo2018', 'train.txt');
const SAMPLE_TEST = path.join(ROOT, 'data', 'weibo_sample_test.txt');

const WORK = tmpDir('q3n-cli-');
const TRAIN = path.join(WORK, 'train.txt');
const TEST = path.join(WORK, 'test.txt');
const TINY = ['--epochs', '1', '--max-samples', '64', '--batch-size', '16', '--max-length', '48'];

const source = fs.existsSync(WEIBO) ? WEIBO : path.join(ROOT, 'data', 'weibo_sample.txt');
const lines = fs
  .readFileSync(source, 'utf8')
  .split('\n')
  .filter((l) => l.trim());
fs.writeFileSync(TRAIN, lines.slice(0, 240).join('\n') + '\n');
fs.writeFileSync(TEST, lines.slice(240, 300).join('\n') + '\n');

test.after.always(() => {
  fs.rmSync(WORK, { recursive: true, force: true });
});

/** Runs a command in this process, in WORK unless `cwd` says otherwise (helpers/cli.js). */
const cli = (args, options = {}) => runCli(args, { cwd: WORK, ...options });

const jsonLines = (text) =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const noStack = (t, r) => t.false(/^\s+at\s/m.test(r.stderr + r.stdout), `no stack trace:\n${r.stderr}`);
const run = (name) => path.join(WORK, 'models', name);

function assertPrediction(t, p, model) {
  t.true(p.label === 0 || p.label === 1);
  t.is(p.sentiment, p.label === 1 ? '正面' : '负面');
  t.is(p.probabilities.length, 2);
  t.true(Math.abs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5, 'probabilities sum to 1');
  t.is(p.confidence, p.probabilities[p.label]);
  t.true(p.confidence >= 0.5 && p.confidence <= 1);
  if (model) t.is(p.model, model);
}

// ---- help, version, usage errors (no model is loaded) ----

test('--help, --version and --help of each command', async (t) => {
  const top = await cli(['--help']);
  t.is(top.code, 0);
  for (const c of ['train', 'predict', 'eval']) t.true(top.stdout.includes(c));
  const version = await cli(['--version']);
  t.is(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  for (const [command, flags] of [
    ['train', ['--method', '--model-size', '--epochs', '--eval-only', '--resume', '--lora-r', '--output']],
    ['predict', ['--text', '--file', '--out', '--load-all', '--checkpoint', '--json']],
    ['eval', ['--test', '--checkpoint', '--load-all', '--json']],
  ]) {
    const r = await cli([command, '--help']);
    t.is(r.code, 0, command);
    for (const f of flags) t.true(r.stdout.includes(f), `${command} --help lists ${f}`);
    t.true(r.stdout.includes('--model_type'), 'old spellings documented');
    const short = await cli([command, '-h']);
    t.is(short.stdout, r.stdout);
  }
});

test('train --help prints the defaults the Trainer uses', async (t) => {
  const { Trainer, METHODS } = require('../../dist');
  const r = await cli(['train', '--help']);
  const flagLine = (flag) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${flag} `)) ?? '';
  const show = (v) => (v < 0.01 ? v.toExponential() : String(v));
  for (const method of METHODS) {
    const o = new Trainer({ method }).options;
    t.true(
      flagLine('--epochs').includes(`${method} ${o.epochs}`),
      `--epochs help for ${method}: ${flagLine('--epochs')}`
    );
    t.true(flagLine('--batch-size').includes(`${method} ${o.batchSize}`), `--batch-size help for ${method}`);
    t.true(
      flagLine('--learning-rate').includes(`${method} ${show(o.learningRate)}`),
      `--learning-rate help for ${method}`
    );
  }
  const o = new Trainer({ method: 'lora' }).options;
  t.regex(flagLine('--lora-r'), new RegExp(`default ${o.lora.r}\\b`));
  t.regex(flagLine('--lora-alpha'), new RegExp(`default ${o.lora.alpha}\\b`));
  t.regex(flagLine('--max-length'), new RegExp(`default ${o.maxLength}\\b`));
  t.regex(flagLine('--seed'), new RegExp(`default ${o.seed}\\b`));
});

test('bad values exit 2 naming the flag, the value and what is allowed', async (t) => {
  const cases = [
    [
      ['train', '--method', 'lora', '--model', 'tiny', '--epochs', '-1'],
      '--epochs: expected a positive integer but received -1',
    ],
    [
      ['train', '--method', 'lora', '--model', 'tiny', '--epochs=2.5'],
      '--epochs: expected a positive integer but received 2.5',
    ],
    [
      ['train', '--method', 'lora', '--model', 'tiny', '--learning_rate', 'fast'],
      '--learning_rate: expected a positive number',
    ],
    [
      ['train', '--method', 'sgd', '--model', 'tiny'],
      '--method: expected one of embedding, lora, lora-head, full but received sgd',
    ],
    [
      ['train', '--model_type', 'bert', '--model', 'tiny'],
      '--model_type: expected one of embedding, lora, lora-head, full',
    ],
    [['train', '--method', 'lora', '--model-size', '3B'], '--model-size: expected one of 0.6B, 4B, 8B but received 3B'],
    [['train', '--method', 'lora', '--model', 'tiny', '--device', 'tpu'], '--device: expected one of auto, cpu, cuda'],
    [['train', '--method', 'full', '--model', 'tiny', '--dtype', 'bfloat16'], '--dtype: expected float32 or auto'],
    [
      ['train', '--method', 'lora', '--model', 'tiny', '--train', 'missing.txt'],
      '--train: expected an existing file but received missing.txt',
    ],
    [
      ['predict', '--checkpoint', 'x', '--text', 'a', '--out', 'p.txt'],
      '--out: expected a file ending in .jsonl or .csv',
    ],
    [['predict', '--text'], '--text: expected a value'],
    [
      ['predict', '--checkpoint', 'x', '--text', 'a', '--out', 'p.jsonl', '--csv-bom'],
      '--csv-bom applies to a CSV file: give --out <file>.csv',
    ],
    [['predict', '--checkpoint', 'x', '--text', 'a', '--csv-bom'], '--csv-bom applies to a CSV file'],
    [['eval', '--checkpoint', 'x'], '--test is required'],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    t.is(r.code, 2, `${args.join(' ')}\n${r.stderr}`);
    t.true(r.stderr.includes(message), `${args.join(' ')}: ${r.stderr}`);
    noStack(t, r);
  }
});

test('unknown flags and commands are named, with the closest valid one', async (t) => {
  let r = await cli(['train', '--epoch', '2']);
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown flag --epoch .*did you mean --epochs\?/);
  r = await cli(['predict', '--txt', 'hi']);
  t.regex(r.stderr, /unknown flag --txt .*did you mean --text\?/);
  r = await cli(['train', '--text', 'hi']);
  t.regex(r.stderr, /--text belongs to `predict`/);
  r = await cli(['trian']);
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown command "trian".*did you mean train\?/);
  r = await cli([]);
  t.is(r.code, 2);
  t.true(r.stderr.includes('Usage: qwen3-native <command>'));
});

test('without a TTY a missing method or model size is an error listing the choices', async (t) => {
  let r = await cli(['train', '--model', 'tiny']);
  t.is(r.code, 2);
  t.true(r.stderr.includes('--method is required'));
  for (const m of ['embedding', 'lora', 'lora-head', 'full']) t.regex(r.stderr, new RegExp(`^\\s+${m}\\s`, 'm'));
  r = await cli(['train', '--method', 'lora']);
  t.is(r.code, 2);
  t.true(r.stderr.includes('--model-size is required'));
  for (const s of ['0.6B', '4B', '8B'])
    t.regex(
      r.stderr,
      new RegExp(`^\\s+${s.replace('.', '\\.')}\\s+Qwen/Qwen3-${s.replace('.', '\\.')}\\s+~[\\d.]+ GB`, 'm')
    );
  t.false(fs.existsSync(path.join(WORK, 'models', 'qwen3_lora_0.6B')));
});

test('a model that is not available offline ends with one clear message', async (t) => {
  const r = await cli([
    'train',
    '--method',
    'lora',
    '--model',
    'Qwen/Qwen3-0.6B',
    '--offline',
    '--train',
    TRAIN,
    ...TINY,
  ]);
  t.not(r.code, 0);
  t.is(r.signal, null);
  t.is((r.stderr.match(/^error:/gm) || []).length, 1, r.stderr);
  t.regex(r.stderr, /error: .*Qwen\/Qwen3-0\.6B/);
  noStack(t, r);
  const debug = await cli(
    ['train', '--method', 'lora', '--model', 'Qwen/Qwen3-0.6B', '--offline', '--train', TRAIN, ...TINY],
    {
      env: { QWEN3_NATIVE_DEBUG: '1' },
    }
  );
  t.regex(debug.stderr, /^\s+at\s/m, 'QWEN3_NATIVE_DEBUG=1 prints the stack');
});

// ---- the full flow on tiny models (serial: they share ./models) ----

test.serial('lora: train (with --test) -> eval -> predict, JSON and files', async (t) => {
  const r = await cli(['train', '--method', 'lora', '--model', 'tiny', '--train', TRAIN, '--test', TEST, ...TINY]);
  t.is(r.code, 0, r.stderr);
  t.true(r.stderr.includes('tiny random model is a smoke test'), 'tiny note');
  t.regex(r.stderr, /train: 4\/4 100%/, 'plain progress lines without a TTY');
  t.true(r.stdout.includes('dev-set evaluation'));
  t.true(r.stdout.includes('test set: the best model'));
  t.true(r.stdout.includes('confusion matrix'));
  t.true(fs.existsSync(path.join(run('qwen3_lora_tiny'), 'run.json')), 'default output ./models/qwen3_lora_tiny');

  const e = await cli(['eval', '--checkpoint', run('qwen3_lora_tiny'), '--test', TEST, '--json']);
  t.is(e.code, 0, e.stderr);
  const [m] = jsonLines(e.stdout);
  t.is(m.model, 'qwen3_lora_tiny');
  t.is(m.count, 60);
  t.true(m.accuracy >= 0 && m.accuracy <= 1);
  t.is(
    m.confusion.flat().reduce((a, b) => a + b, 0),
    60
  );
  t.deepEqual(
    m.perClass.map((c) => c.sentiment),
    ['负面', '正面']
  );

  const p = await cli([
    'predict',
    '--checkpoint',
    run('qwen3_lora_tiny'),
    '--text',
    '今天天气真好',
    '--text',
    '太失望了',
    '--json',
  ]);
  t.is(p.code, 0, p.stderr);
  const rows = jsonLines(p.stdout);
  t.deepEqual(
    rows.map((x) => x.text),
    ['今天天气真好', '太失望了']
  );
  for (const row of rows) assertPrediction(t, row, 'qwen3_lora_tiny');

  const table = await cli(['predict', '--method', 'lora', '--text', '今天天气真好']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^model\s+label\s+sentiment\s+confidence\s+text$/m);
  t.regex(table.stdout, /^qwen3_lora_tiny\s+[01]\s+(正面|负面)\s+\d+\.\d\d%\s+今天天气真好$/m);

  const jsonl = path.join(WORK, 'p.jsonl');
  const f = await cli(['predict', '--checkpoint', run('qwen3_lora_tiny'), '--file', TEST, '--out', jsonl]);
  t.is(f.code, 0, f.stderr);
  const written = jsonLines(fs.readFileSync(jsonl, 'utf8'));
  t.is(written.length, 60);
  for (const row of written) assertPrediction(t, row, 'qwen3_lora_tiny');
  t.is(written[0].text, lines[240].split('\t')[0], '--file drops the labels of a labelled file');

  const csv = path.join(WORK, 'p.csv');
  const c = await cli(['predict', '--checkpoint', run('qwen3_lora_tiny'), '--file', TEST, '--out', csv]);
  t.is(c.code, 0, c.stderr);
  const csvLines = fs.readFileSync(csv, 'utf8').trim().split('\n');
  t.is(csvLines[0], 'model,label,sentiment,confidence,p_negative,p_positive,text');
  t.is(csvLines.length, 61);
  const [model, label, sentiment, confidence, pn, pp] = csvLines[1].split(',');
  t.is(model, 'qwen3_lora_tiny');
  t.is(sentiment, label === '1' ? '正面' : '负面');
  t.true(Math.abs(Number(pn) + Number(pp) - 1) < 1e-5);
  t.is(Number(confidence), Math.max(Number(pn), Number(pp)));
  t.not(fs.readFileSync(csv)[0], 0xef, 'no byte-order mark unless asked');

  // --csv-bom: the same file behind a UTF-8 byte-order mark (what Excel needs to read it as UTF-8).
  const bom = path.join(WORK, 'p-bom.csv');
  const b = await cli(['predict', '--checkpoint', run('qwen3_lora_tiny'), '--file', TEST, '--out', bom, '--csv-bom']);
  t.is(b.code, 0, b.stderr);
  const bytes = fs.readFileSync(bom);
  t.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  t.is(bytes.subarray(3).toString('utf8').split('\n')[0], csvLines[0]);

  const piped = await cli(['predict', '--checkpoint', run('qwen3_lora_tiny'), '--json'], {
    input: '第一条微博\n\n第二条微博\n',
  });
  t.is(piped.code, 0, piped.stderr);
  t.deepEqual(
    jsonLines(piped.stdout).map((x) => x.text),
    ['第一条微博', '第二条微博']
  );
});

test.serial('lora-head: train -> eval table -> train --eval-only -> predict', async (t) => {
  const r = await cli([
    'train',
    '--method',
    'lora-head',
    '--model',
    'tiny',
    '--train',
    TRAIN,
    ...TINY,
    '--lora-r',
    '4',
    '--lora-alpha',
    '8',
  ]);
  t.is(r.code, 0, r.stderr);
  const adapter = JSON.parse(fs.readFileSync(path.join(run('qwen3_lora_head_tiny'), 'adapter_config.json'), 'utf8'));
  t.is(adapter.r, 4);
  t.is(adapter.lora_alpha, 8);
  t.is(adapter.task_type, 'SEQ_CLS');

  const e = await cli(['eval', '--method', 'lora-head', '--test', TEST]);
  t.is(e.code, 0, e.stderr);
  t.regex(e.stdout, /accuracy \d+\.\d\d%\s+macro-F1 \d+\.\d\d%/);
  t.regex(e.stdout, /^\s+class\s+precision\s+recall\s+f1\s+support$/m);
  t.regex(e.stdout, /^\s+0 负面\s+\d\.\d{4}\s+\d\.\d{4}\s+\d\.\d{4}\s+\d+$/m);
  t.regex(e.stdout, /true \\ predicted\s+0 负面\s+1 正面/);

  const only = await cli(['train', '--eval-only', '--output', run('qwen3_lora_head_tiny'), '--test', TEST, '--json']);
  t.is(only.code, 0, only.stderr);
  const [m] = jsonLines(only.stdout);
  t.is(m.model, 'qwen3_lora_head_tiny');
  t.is(m.count, 60);
  const viaEval = jsonLines((await cli(['eval', '--method', 'lora-head', '--test', TEST, '--json'])).stdout)[0];
  t.deepEqual(viaEval.confusion, m.confusion, 'train --eval-only and eval agree');

  const p = await cli(['predict', '--checkpoint', run('qwen3_lora_head_tiny'), '--text', '好开心', '--json']);
  t.is(p.code, 0, p.stderr);
  assertPrediction(t, jsonLines(p.stdout)[0], 'qwen3_lora_head_tiny');
});

test.serial('embedding and full: train -> predict', async (t) => {
  for (const method of ['embedding', 'full']) {
    const name = `qwen3_${method}_tiny`;
    const r = await cli(['train', '--method', method, '--model', 'tiny', '--train', TRAIN, ...TINY]);
    t.is(r.code, 0, r.stderr);
    const info = JSON.parse(fs.readFileSync(path.join(run(name), 'run.json'), 'utf8'));
    t.is(info.method, method);
    const p = await cli(['predict', '--checkpoint', run(name), '--text', '今天天气真好', '--text', '气死了', '--json']);
    t.is(p.code, 0, p.stderr);
    const rows = jsonLines(p.stdout);
    t.is(rows.length, 2);
    for (const row of rows) assertPrediction(t, row, name);
  }
});

test.serial("the old Python scripts' spellings still work", async (t) => {
  const r = await cli([
    'train',
    '--model_type',
    'qwen3-lora',
    '--batch_size',
    '16',
    '--learning_rate',
    '1e-3',
    '--max_samples',
    '64',
    '--train_path',
    TRAIN,
    '--model_path',
    'tiny',
    '--epochs',
    '1',
    '--max_length',
    '48',
    '--output_dir',
    'models/old_style',
  ]);
  t.is(r.code, 0, r.stderr);
  const info = JSON.parse(fs.readFileSync(path.join(run('old_style'), 'run.json'), 'utf8'));
  t.is(info.method, 'lora');
  t.is(info.hyperParameters.batchSize, 16);
  t.is(info.hyperParameters.learningRate, 1e-3);
  t.is(info.hyperParameters.maxSamples, 64);
  t.is(info.maxLength, 48);
  t.is(info.trainExamples, 64);

  // predict_universal.py style: --model_type + --model_path (a run folder) + --text
  const p = await cli([
    'predict',
    '--model_type',
    'lora',
    '--model_path',
    'models/old_style',
    '--text',
    '这个电影太棒了',
    '--json',
  ]);
  t.is(p.code, 0, p.stderr);
  assertPrediction(t, jsonLines(p.stdout)[0], 'old_style');
  const e = await cli(['eval', '--model_path', 'models/old_style', '--test_path', TEST, '--json']);
  t.is(e.code, 0, e.stderr);
  t.is(jsonLines(e.stdout)[0].model, 'old_style');
  const only = await cli(['train', '--eval_only', '--model_path', 'models/old_style', '--test_path', TEST, '--json']);
  t.is(only.code, 0, only.stderr);
  t.is(jsonLines(only.stdout)[0].model, 'old_style');
});

test.serial('--load-all: one row per model and text; eval compares every run', async (t) => {
  const runs = fs
    .readdirSync(path.join(WORK, 'models'))
    .filter((d) => fs.existsSync(path.join(WORK, 'models', d, 'run.json')));
  t.true(runs.length >= 5, runs.join(','));
  const p = await cli(['predict', '--load_all', '--text', '好', '--text', '坏', '--json']);
  t.is(p.code, 0, p.stderr);
  const rows = jsonLines(p.stdout);
  t.is(rows.length, runs.length * 2);
  t.deepEqual([...new Set(rows.map((r) => r.model))].sort(), runs.sort());
  for (const row of rows) assertPrediction(t, row);
  const e = await cli(['eval', '--load-all', '--test', TEST]);
  t.is(e.code, 0, e.stderr);
  for (const name of runs) t.regex(e.stdout, new RegExp(`^${name}\\s+\\d+\\.\\d\\d%`, 'm'));
});

test.serial('predict without --checkpoint and no TTY lists the trained runs', async (t) => {
  const r = await cli(['predict', '--text', 'hi']);
  t.is(r.code, 2);
  t.true(r.stderr.includes('--checkpoint is required'));
  t.true(r.stderr.includes('qwen3_lora_tiny'));
  const missing = await cli(['predict', '--checkpoint', 'models/nope', '--text', 'hi']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--checkpoint: .*nope does not exist/);
  const none = await cli(['predict', '--text', 'hi'], { cwd: HF_HOME });
  t.is(none.code, 1);
  t.true(none.stderr.includes('no trained model under'));
});

test.serial('a run whose base model is missing offline fails with one message', async (t) => {
  const dir = run('moved_base');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(run('qwen3_lora_tiny'))) {
    const src = path.join(run('qwen3_lora_tiny'), f);
    if (fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(dir, f));
  }
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
  info.baseModel = {
    ...info.baseModel,
    spec: 'Qwen/Qwen3-0.6B',
    dir: path.join(WORK, 'gone'),
    repoId: 'Qwen/Qwen3-0.6B',
  };
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info));
  const r = await cli(['predict', '--checkpoint', dir, '--text', 'hi']);
  fs.rmSync(dir, { recursive: true });
  t.is(r.code, 1);
  t.is((r.stderr.match(/^error:/gm) || []).length, 1, r.stderr);
  t.regex(r.stderr, /Qwen\/Qwen3-0\.6B/);
  noStack(t, r);
});

test.serial('Ctrl-C stops after a step with a checkpoint; --resume finishes the run', async (t) => {
  const args = [
    'train',
    '--method',
    'lora',
    '--model',
    'tiny',
    '--train',
    TRAIN,
    '--epochs',
    '2',
    '--max-samples',
    '64',
    '--batch-size',
    '2',
    '--max-length',
    '48',
    '--output',
    'models/interrupted',
    '--json',
  ];
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: WORK, env: childEnv() });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!sent && stdout.includes('"event":"progress"')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
  t.is(r.code, 130, r.stderr);
  const stopped = jsonLines(r.stdout).find((e) => e.event === 'stopped');
  t.truthy(stopped);
  t.true(stopped.steps < 64);
  t.true(stopped.resume.startsWith('qwen3-native train ') && stopped.resume.endsWith(' --resume'));
  t.true(r.stderr.includes('--resume'));
  // The interrupted run waits in <output>.partial; <output> gets the run when it finishes.
  t.is(stopped.checkpoint, path.join(run('interrupted.partial'), 'checkpoint'));
  t.true(fs.existsSync(path.join(stopped.checkpoint, 'trainer_state.json')));
  t.false(fs.existsSync(run('interrupted')));

  const resumed = await cli([...args, '--resume']);
  t.is(resumed.code, 0, resumed.stderr);
  const events = jsonLines(resumed.stdout);
  t.truthy(events.find((e) => e.event === 'log' && /resumed from .* at step \d+/.test(e.message)));
  t.is(events.filter((e) => e.event === 'progress')[0].step, stopped.steps + 1);
  const done = events.find((e) => e.event === 'done');
  t.false(done.stopped);
  t.true(fs.existsSync(path.join(run('interrupted'), 'run.json')));
  t.false(fs.existsSync(run('interrupted.partial')), 'the finished run was published');
});

test.serial('README main job: the bundled sample, default output, then predict by --checkpoint', async (t) => {
  const dir = tmpDir('q3n-cli-readme-');
  const r = await cli(
    ['train', '--model', 'tiny', '--method', 'lora', '--test', SAMPLE_TEST, '--epochs', '1', '--max-length', '64'],
    { cwd: dir }
  );
  t.is(r.code, 0, r.stderr);
  t.true(r.stderr.includes('--train not given: training on the bundled sample'));
  t.true(r.stdout.includes('qwen3-native predict --checkpoint models/qwen3_lora_tiny'));
  const p = await cli(['predict', '--checkpoint', 'models/qwen3_lora_tiny', '--text', '今天天气真好'], { cwd: dir });
  t.is(p.code, 0, p.stderr);
  t.regex(p.stdout, /qwen3_lora_tiny\s+[01]\s+(正面|负面)\s+\d+\.\d\d%\s+今天天气真好/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('npx qwen3-native runs the built command from the package root, as the README does', (t) => {
  const { spawnSync } = require('child_process');
  const r = spawnSync('npx', ['qwen3-native', '--version'], { cwd: ROOT, encoding: 'utf8', env: childEnv() });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^\d+\.\d+\.\d+/);
});

test.serial('lora predict is one native call per predict() (in-process count of native predict calls)', async (t) => {
  const native = require('../../dist/native');
  const original = native.loadNative;
  let calls = 0;
  let limits;
  native.loadNative = () => {
    const binding = original();
    const Counted = function Classifier() {
      const c = new binding.Classifier();
      return new Proxy(c, {
        get(target, key) {
          const v = target[key];
          if (key === 'predict') return (...a) => (calls++, (limits = a[3]), v.apply(target, a));
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    };
    return {
      Engine: binding.Engine,
      Classifier: Counted,
      runtimeInfo: binding.runtimeInfo,
      setNumThreads: binding.setNumThreads,
    };
  };
  const { Predictor } = require('../../dist');
  const cwd = process.cwd();
  process.chdir(WORK);
  const p = new Predictor({ checkpoint: run('qwen3_lora_tiny'), batchSize: 32 });
  try {
    const texts = ['一', '今天天气真好', '太失望了，再也不来了', '好', '还行吧'];
    const rows = await p.predict(texts);
    t.is(calls, 1, 'five texts, batch size 32: one native forward');
    for (const row of rows) assertPrediction(t, row);
    const [a, b] = [await p.encode('一'), await p.encode('好')];
    let promptTokens = 0; // the prompt before the text
    while (a[promptTokens] === b[promptTokens]) promptTokens++;
    const first = p.stats();
    t.true(
      first.tokensReused >= 5 * promptTokens,
      `the lora prompt is run once, not for each text: ${JSON.stringify(first)}`
    );
    calls = 0;
    const texts70 = Array.from({ length: 70 }, (_, i) => `第${'很'.repeat(i % 9)}${i}条`);
    const many = await p.predict(texts70);
    t.is(calls, 1, '70 texts, batch size 32: one native call (the core runs its forward passes)');
    t.deepEqual(limits, { maxBatchSize: 32, maxBatchTokens: 4096 }, "batchSize is the core's texts per forward pass");
    t.true(p.stats().tokensReused >= first.tokensReused + 70 * promptTokens);
    for (const i of [0, 8, 35, 69]) {
      // The core ran them longest first; each row comes back at its text's place.
      const alone = await p.predict(texts70[i]);
      t.true(
        alone.probabilities.every((v, k) => Math.abs(v - many[i].probabilities[k]) < 1e-5),
        `text ${i}: ${JSON.stringify([alone.probabilities, many[i].probabilities])}`
      );
    }
  } finally {
    p.dispose();
    process.chdir(cwd);
    native.loadNative = original;
  }
});

// script(1) (util-linux) gives the CLI a pseudo-terminal; without it the test is skipped, except in CI.
const terminalTest = fs.existsSync('/usr/bin/script') || process.env.CI ? test.serial : test.serial.skip;

terminalTest('on a terminal it asks for the method, and predict reads posts interactively', async (t) => {
  // Runs the CLI under script(1), which gives it a pseudo-terminal; `react` answers what it sees.
  const inTerminal = (args, react) =>
    new Promise((resolve) => {
      const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: WORK, env: childEnv({ CI: '' }) });
      let output = '';
      const state = {};
      child.stdout.on('data', (d) => {
        output += d;
        react(output, (text) => child.stdin.write(text), state);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  const r = await inTerminal(
    ['train', '--model', 'tiny', '--train', TRAIN, ...TINY, '--output', 'models/asked'],
    (out, write, s) => {
      if (!s.answered && out.includes('choose 1-4')) {
        s.answered = true;
        write('3\r');
      }
    }
  );
  t.is(r.code, 0, r.output);
  t.true(r.output.includes('Which training method?'));
  t.is(JSON.parse(fs.readFileSync(path.join(run('asked'), 'run.json'), 'utf8')).method, 'lora-head');

  const row = /asked\s+[01]\s+(正面|负面)\s+\d+\.\d\d%\s+今天天气真好/;
  const p = await inTerminal(['predict', '--checkpoint', 'models/asked'], (out, write, s) => {
    if (!s.asked && out.includes('微博>')) {
      s.asked = true;
      write('今天天气真好\r');
    } else if (s.asked && !s.done && row.test(out)) {
      s.done = true;
      write('exit\r');
    }
  });
  t.is(p.code, 0, p.output);
  t.regex(p.output, row);
});

test('info reports libtorch, CUDA, threads and bf16 support', (t) => {
  const { spawnSync } = require('child_process');
  const bin = require('path').resolve(__dirname, '../..', 'dist', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [bin, 'info', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  t.is(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  t.regex(info.libtorchVersion, /^\d+\.\d+/);
  t.is(typeof info.cudaAvailable, 'boolean');
  t.true(info.threads >= 1);
  t.is(typeof info.cpuBf16, 'boolean');
  t.true(['float32', 'bfloat16'].includes(info.defaultDtype));
  t.true(Array.isArray(info.runs));
});
