'use strict';
// Results stay with the run: `train --test sample` (the bundled test posts, as an installed package's README runs it)
// keeps its result in the run folder's test_results.json, shown by `info`, `report` and serve's /v1/models, and every
// finished run carries a README.md model card made from run.json and that file. The Trainer's knobs are train flags
// whose help, defaults and checks come from the Trainer's option schema, and whose values reach run.json.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { cli: runCli, jsonLines } = require('../helpers/cli');
const { tmpDir } = require('../helpers/util');
const { startServer } = require('../../dist');
const { TRAINER_OPTIONS, LoraOptionsSchema } = require('../../dist/train/schema');
const { TEST_RESULTS_FILE, MODEL_CARD_FILE } = require('../../dist/runs/schema');

const ROOT = path.resolve(__dirname, '../..');
const SAMPLE_TEST = path.join(ROOT, 'data', 'weibo_sample_test.txt');
const WORK = tmpDir('q3n-results-');
const RUN = path.join(WORK, 'models', 'qwen3_lora_tiny');
const SMALL = ['--epochs', '1', '--max-samples', '48', '--batch-size', '16', '--max-length', '40'];
test.after.always(() => fs.rmSync(WORK, { recursive: true, force: true }));

const cli = (args) => runCli(args, { cwd: WORK });
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const countLines = (file) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim()).length;

let trained;
test.before(async () => {
  const args = ['train', '--method', 'lora', '--model', 'tiny', '--test', 'sample', ...SMALL];
  const knobs = ['--warmup-ratio', '0.3', '--scheduler', 'linear', '--weight-decay', '0', '--lora-dropout', '0'];
  const more = ['--lora-target-modules', 'q_proj,v_proj', '--early-stopping-patience', '2', '--batch-size', '4'];
  trained = await cli([...args, ...knobs, ...more]);
});

test.serial('train --test sample tests on the bundled test posts and keeps the result in the run folder', (t) => {
  t.is(trained.code, 0, trained.stderr);
  t.true(trained.stdout.includes(`test set: the best model on ${SAMPLE_TEST}`), trained.stdout);
  const results = readJson(path.join(RUN, TEST_RESULTS_FILE));
  t.is(results.data.name, SAMPLE_TEST);
  t.is(results.data.count, countLines(SAMPLE_TEST));
  t.regex(results.data.sha256, /^[0-9a-f]{64}$/);
  t.is(results.metrics.count, results.data.count);
  const printed = /accuracy\s+(\d+\.\d\d)%/.exec(trained.stdout.slice(trained.stdout.indexOf('test set:')));
  t.truthy(printed, trained.stdout);
  t.is((results.metrics.accuracy * 100).toFixed(2), printed[1], 'the stored result is the one printed');
  t.false(Number.isNaN(Date.parse(results.evaluatedAt)));
});

test.serial('the flags reach the Trainer: run.json and the adapter record them', (t) => {
  const run = readJson(path.join(RUN, 'run.json'));
  t.is(run.hyperParameters.warmupRatio, 0.3);
  t.is(run.hyperParameters.scheduler, 'linear');
  t.is(run.hyperParameters.weightDecay, 0);
  t.is(run.lora.dropout, 0);
  t.deepEqual(run.lora.targetModules, ['q_proj', 'v_proj']);
  const adapter = readJson(path.join(RUN, 'adapter_config.json'));
  t.deepEqual([...adapter.target_modules].sort(), ['q_proj', 'v_proj']);
  t.is(adapter.lora_dropout, 0);
  // The schedule ran linear with a 30% warmup (the default is cosine with 10%): the learning rate climbs for
  // round(0.3 x steps) steps, then falls by the same amount each step.
  const lrs = fs
    .readFileSync(path.join(RUN, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"progress"'))
    .map((l) => JSON.parse(l).learningRate);
  const n = lrs.length;
  const warmup = Math.round(n * 0.3);
  const peak = run.hyperParameters.learningRate;
  t.true(n >= 10, `${n} steps`);
  const expected = lrs.map((_, i) =>
    i < warmup ? (peak * (i + 1)) / warmup : peak * (1 - (i - warmup) / (n - warmup))
  );
  lrs.forEach((lr, i) => t.true(Math.abs(lr - expected[i]) <= 1e-9 * peak, `step ${i}: ${lr} vs ${expected[i]}`));
});

test.serial('the model card: Hub front matter, and every value from run.json and test_results.json', (t) => {
  const card = fs.readFileSync(path.join(RUN, MODEL_CARD_FILE), 'utf8');
  const run = readJson(path.join(RUN, 'run.json'));
  const results = readJson(path.join(RUN, TEST_RESULTS_FILE));
  t.regex(card, /^---\nlibrary_name: peft\n/);
  t.regex(card, /\ntags:\n {2}- "qwen3-native"\n/);
  t.notRegex(card, /base_model:/, "'tiny' is no Hub repo id");
  const pct = (x) => `${(x * 100).toFixed(2)}%`;
  t.true(card.includes(`| test: weibo_sample_test.txt | ${results.data.count} | ${pct(results.metrics.accuracy)} |`));
  t.true(
    card.includes(`| ${run.devExamples} | ${pct(run.best.metrics.accuracy)} | ${pct(run.best.metrics.macroF1)} |`)
  );
  t.true(card.includes(run.data.train.sha256));
  t.true(card.includes('warmupRatio 0.3; weightDecay 0'));
  t.true(card.includes('dropout 0 on q_proj, v_proj'));
  t.true(card.includes('PeftModel.from_pretrained(AutoModelForCausalLM'));
  t.false(card.replaceAll(run.baseModel.dir, '').includes(WORK), 'no local path but the base model folder');
});

test.serial('info, report and /v1/models show the test result', async (t) => {
  const accuracy = readJson(path.join(RUN, TEST_RESULTS_FILE)).metrics.accuracy;
  const info = await cli(['info', '--json']);
  t.is(info.code, 0, info.stderr);
  const [entry] = jsonLines(info.stdout)[0].runs.filter((r) => r.dir === RUN);
  t.is(entry.testAccuracy, accuracy);
  t.true(entry.description.includes(`test accuracy ${(accuracy * 100).toFixed(1)}%`), entry.description);
  const text = await cli(['info']);
  t.regex(text.stdout, /qwen3_lora_tiny .*test accuracy \d+\.\d%/);

  const report = await cli(['report', RUN]);
  t.is(report.code, 0, report.stderr);
  const html = fs.readFileSync(path.join(RUN, 'report.html'), 'utf8');
  t.true(html.includes(`<th>test</th><td>accuracy ${(accuracy * 100).toFixed(2)}%`), 'report shows the test row');

  const standIn = {
    info: readJson(path.join(RUN, 'run.json')),
    labels: ['负面', '正面'],
    runFolder: () => RUN,
    load: () => Promise.resolve(),
    predict: async () => [],
    dispose() {},
  };
  const server = await startServer(
    { host: '127.0.0.1', port: 0, logFormat: 'json' },
    { predictors: [standIn], logStream: { write() {} } }
  );
  try {
    await server.ready;
    const { models } = await (await fetch(`${server.url}/v1/models`)).json();
    t.deepEqual(models[0].test, {
      data: SAMPLE_TEST,
      count: countLines(SAMPLE_TEST),
      accuracy,
      macroF1: readJson(path.join(RUN, TEST_RESULTS_FILE)).metrics.macroF1,
    });
  } finally {
    await server.stop();
  }
});

test.serial('a run without a test result (older runs too) shows none; new weights drop the old result', async (t) => {
  const output = path.join(WORK, 'models', 'untested');
  const r = await cli(['train', '--method', 'lora', '--model', 'tiny', '--output', output, ...SMALL]);
  t.is(r.code, 0, r.stderr);
  t.false(fs.existsSync(path.join(output, TEST_RESULTS_FILE)));
  const card = fs.readFileSync(path.join(output, MODEL_CARD_FILE), 'utf8');
  t.true(card.includes('| dev (epoch 1,'), 'the card has the dev result');
  t.false(card.includes('| test:'));
  // An earlier version's run: no card, no test result.
  fs.rmSync(path.join(output, MODEL_CARD_FILE));
  const info = await cli(['info', '--json']);
  const [entry] = jsonLines(info.stdout)[0].runs.filter((e) => e.dir === output);
  t.is(entry.testAccuracy, null);
  t.false(entry.description.includes('test accuracy'));
  // A result measured other weights: training into the folder again removes it.
  fs.copyFileSync(path.join(RUN, TEST_RESULTS_FILE), path.join(output, TEST_RESULTS_FILE));
  const again = await cli([
    'train',
    '--method',
    'lora',
    '--model',
    'tiny',
    '--output',
    output,
    '--seed',
    '5',
    ...SMALL,
  ]);
  t.is(again.code, 0, again.stderr);
  t.false(fs.existsSync(path.join(output, TEST_RESULTS_FILE)));
  t.true(fs.existsSync(path.join(output, MODEL_CARD_FILE)));
});

test('train --help lists the Trainer flags with the schema defaults', async (t) => {
  const r = await cli(['train', '--help']);
  t.is(r.code, 0);
  const L = LoraOptionsSchema.properties;
  for (const [flag, node] of [
    ['--warmup-ratio', TRAINER_OPTIONS.warmupRatio],
    ['--scheduler', TRAINER_OPTIONS.scheduler],
    ['--weight-decay', TRAINER_OPTIONS.weightDecay],
    ['--max-grad-norm', TRAINER_OPTIONS.maxGradNorm],
    ['--early-stopping-patience', TRAINER_OPTIONS.earlyStoppingPatience],
    ['--best-metric', TRAINER_OPTIONS.bestMetric],
    ['--lora-dropout', L.dropout],
    ['--lora-target-modules', L.targetModules],
  ]) {
    const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${flag} `));
    t.truthy(line, `${flag} in train --help`);
    const shown = Array.isArray(node.default) ? node.default.join(',') : String(node.default);
    t.true(line.includes(`default ${shown})`), line);
    t.true(line.includes(node.description.replace(/\)$/, '')), line); // "(0 turns it off; default 1)"
  }
});

test('bad values of the Trainer flags: one line each, naming the flag, in the schema words; exit 2', async (t) => {
  const r = await cli([
    'train',
    '--method',
    'lora',
    '--model',
    'tiny',
    '--warmup-ratio',
    '1.5',
    '--scheduler',
    'cosin',
    '--lora-target-modules',
    'q_proj,qproj',
    '--early-stopping-patience',
    '-1',
    '--lora-dropout',
    'none',
  ]);
  t.is(r.code, 2);
  t.deepEqual(r.stderr.trim().split('\n'), [
    'error: --warmup-ratio: expected a number between 0 and 1 but received 1.5',
    '--scheduler: expected one of "cosine", "linear", "constant" but received cosin',
    '--early-stopping-patience: expected a non-negative integer but received -1',
    '--lora-dropout: expected a number between 0 and 0.99 but received none',
    '--lora-target-modules: expected one of "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" but received qproj',
  ]);
  t.false(fs.existsSync(path.join(WORK, 'models', 'qwen3_lora_tiny.partial')), 'nothing trained');
});
