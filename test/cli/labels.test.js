'use strict';
// Label sets through the CLI: train --labels, predict (JSON, CSV columns per label, tables), eval (N x N), and
// --load-all over runs of different label sets (grouped tables; a CSV refused rather than mixing columns).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { cli, jsonLines } = require('../helpers/cli');
const { FIXTURES, ROOT, tmpDir } = require('../helpers/util');

const THREE = path.join(FIXTURES, 'labels', 'three_way.txt');
const BINARY = path.join(ROOT, 'data', 'weibo_sample.txt');
const QUICK = ['--model', 'tiny', '--epochs', '1', '--batch-size', '16', '--max-length', '48', '--device', 'cpu'];
const cwd = tmpDir('q3n-labels-cli-');

test.serial('train --labels: a three-way lora-head run, then a binary one', async (t) => {
  const three = await cli(
    [
      'train',
      '--method',
      'lora-head',
      '--train',
      THREE,
      '--labels',
      '消极,中性,积极',
      '--output',
      'models/three',
      ...QUICK,
    ],
    { cwd }
  );
  t.is(three.code, 0, three.stderr);
  t.regex(three.stdout, /P\(消极\) {2}R\(消极\) {2}P\(中性\) {2}R\(中性\) {2}P\(积极\) {2}R\(积极\)/);
  const run = JSON.parse(fs.readFileSync(path.join(cwd, 'models', 'three', 'run.json'), 'utf8'));
  t.deepEqual(run.labels, { 0: '消极', 1: '中性', 2: '积极' });
  const binary = await cli(
    ['train', '--method', 'lora-head', '--train', BINARY, '--max-samples', '48', '--output', 'models/binary', ...QUICK],
    { cwd }
  );
  t.is(binary.code, 0, binary.stderr);
  const bad = await cli(['train', '--method', 'lora-head', '--train', THREE, '--labels', '消极,,积极', ...QUICK], {
    cwd,
  });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--labels: bad label set .*label 1 is empty/);
});

test.serial(
  'predict: JSON carries the labels and N probabilities; CSV has one p_<name> column per label',
  async (t) => {
    const json = await cli(['predict', '--checkpoint', 'models/three', '--text', '太让人失望了', '--json'], { cwd });
    t.is(json.code, 0, json.stderr);
    const [row] = jsonLines(json.stdout);
    t.deepEqual(row.labels, ['消极', '中性', '积极']);
    t.is(row.probabilities.length, 3);
    t.is(row.sentiment, row.labels[row.label]);
    const csv = await cli(['predict', '--checkpoint', 'models/three', '--text', '好', '--out', 'three.csv'], { cwd });
    t.is(csv.code, 0, csv.stderr);
    const lines = fs.readFileSync(path.join(cwd, 'three.csv'), 'utf8').split('\n');
    t.is(lines[0], 'model,label,sentiment,confidence,p_消极,p_中性,p_积极,text');
    t.is(lines[1].split(',').length, 8);
    await cli(['predict', '--checkpoint', 'models/binary', '--text', '好', '--out', 'binary.csv'], { cwd });
    const header = fs.readFileSync(path.join(cwd, 'binary.csv'), 'utf8').split('\n')[0];
    t.is(header, 'model,label,sentiment,confidence,p_negative,p_positive,text');
    const binJson = jsonLines(
      (await cli(['predict', '--checkpoint', 'models/binary', '--text', '好', '--json'], { cwd })).stdout
    );
    t.deepEqual(Object.keys(binJson[0]), ['text', 'label', 'sentiment', 'confidence', 'probabilities', 'model']);
  }
);

test.serial('--load-all over runs of different label sets: tables per set; CSV and --ensemble refused', async (t) => {
  const table = await cli(['predict', '--load-all', '--text', '好'], { cwd });
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /labels 0 负面, 1 正面:\n/);
  t.regex(table.stdout, /labels 0 消极, 1 中性, 2 积极:\n/);
  const csv = await cli(['predict', '--load-all', '--text', '好', '--out', 'all.csv'], { cwd });
  t.is(csv.code, 2);
  t.regex(csv.stderr, /different label sets: 0 负面, 1 正面 \(binary\); 0 消极, 1 中性, 2 积极 \(three\)/);
  t.false(fs.existsSync(path.join(cwd, 'all.csv')));
  const jsonl = await cli(['predict', '--load-all', '--text', '好', '--out', 'all.jsonl'], { cwd });
  t.is(jsonl.code, 0, jsonl.stderr);
  t.is(fs.readFileSync(path.join(cwd, 'all.jsonl'), 'utf8').trim().split('\n').length, 2);
  const ensemble = await cli(['predict', '--load-all', '--ensemble', '--text', '好'], { cwd });
  t.is(ensemble.code, 2);
  t.regex(ensemble.stderr, /--ensemble averages runs of one label set/);
});

test.serial('eval: the run reads the test file with its label set; metrics of 3 classes', async (t) => {
  const r = await cli(['eval', '--checkpoint', 'models/three', '--test', THREE, '--json'], { cwd });
  t.is(r.code, 0, r.stderr);
  const [m] = jsonLines(r.stdout);
  t.is(m.count, 60);
  t.is(m.confusion.length, 3);
  t.deepEqual(
    m.perClass.map((c) => [c.sentiment, c.support]),
    [
      ['消极', 20],
      ['中性', 20],
      ['积极', 20],
    ]
  );
  t.is(typeof m.weightedF1, 'number');
  const text = await cli(['eval', '--load-all', '--test', THREE], { cwd });
  // the binary run cannot read 积极/消极 labels: skipped with a note naming the file and line; the other is evaluated
  t.is(text.code, 0, text.stderr);
  t.regex(
    text.stderr,
    /skipping binary: its labels \(0 负面, 1 正面\) do not read .*three_way\.txt:1: label must be 0\/1/
  );
  t.regex(text.stdout, /three on .*three_way\.txt\naccuracy/);
});
