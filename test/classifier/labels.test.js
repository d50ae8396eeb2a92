'use strict';
// Label sets: validation, reading them from data, and every method training on a three-class and a five-class set
// (test/fixtures/labels) with the loss falling, run.json recording the set, and predictions/metrics of N classes.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { createTinyQwen3, Trainer, Predictor, loadLabelledFile, computeMetrics } = require('../../dist');
const labels = require('../../dist/classifier/labels');
const { stratifiedSplit } = require('../../dist/train/split');
const { FIXTURES, tmpDir } = require('../helpers/util');

const THREE = path.join(FIXTURES, 'labels', 'three_way.txt');
const FIVE = path.join(FIXTURES, 'labels', 'five_levels.jsonl');
const THREE_SET = ['消极', '中性', '积极'];
const FIVE_SET = ['很差', '差', '一般', '好', '很好'];

test('a label set: trimmed names; empty, colliding, too few and misplaced numbers refused in one message', (t) => {
  t.deepEqual(labels.checkLabelSet([' 消极', '中性 ', '积极'], 'labels'), THREE_SET);
  t.deepEqual(labels.parseLabelsFlag('消极，中性,积极'), THREE_SET);
  const e = t.throws(() => labels.checkLabelSet(['Pos', '', 'pos', ' pos '], 'labels'));
  t.regex(e.message, /label 1 is empty/);
  t.regex(e.message, /labels 0 and 2 are the same name "pos"/);
  t.regex(e.message, /labels 0 and 3 are the same name "pos"/);
  t.throws(() => labels.parseLabelsFlag('only'), { message: /at least 2/ });
  t.throws(() => labels.checkLabelSet(['1', '0'], 'labels'), { message: /label 0 is the number 1/ });
  // non-ASCII letters are compared as written
  t.deepEqual(labels.checkLabelSet(['Ä', 'ä'], 'labels'), ['Ä', 'ä']);
});

test('the label set a file implies: the default for 0/1, ids 0..N-1, else the names sorted', (t) => {
  t.deepEqual(labels.inferLabelSet([0, '1', '正面', 'negative']), ['负面', '正面']);
  t.deepEqual(labels.inferLabelSet([0, 2, '1']), ['0', '1', '2']);
  t.is(labels.inferLabelSet([0, 1, 5]), undefined); // a gap is more likely a typo
  t.deepEqual(labels.inferLabelSet(['积极', '消极', '中性', '积极']), ['中性', '消极', '积极']);
  t.is(labels.inferLabelSet(['积极', 2]), undefined);
  const m = new labels.LabelMatcher(THREE_SET);
  t.is(m.id('中性'), 1);
  t.is(m.id(' 2 '), 2);
  t.is(m.id(3), undefined);
  t.is(m.id('positive'), undefined); // English aliases belong to the default set only
});

test('files: names found, their order fixed by labels; a label outside the set is file:line', async (t) => {
  const found = await loadLabelledFile(THREE);
  t.deepEqual(found.labelSet, ['中性', '消极', '积极']);
  const fixed = await loadLabelledFile(THREE, { labels: THREE_SET });
  t.deepEqual(fixed.labelSet, THREE_SET);
  t.deepEqual(
    [0, 1, 2].map((c) => fixed.labels.filter((l) => l === c).length),
    [20, 20, 20]
  );
  t.is(fixed.labels[0], 2); // the first line is 积极
  const five = await loadLabelledFile(FIVE);
  t.deepEqual(five.labelSet, ['0', '1', '2', '3', '4']);
  const dir = tmpDir();
  const bad = path.join(dir, 'bad.txt');
  fs.writeFileSync(bad, '好\t积极\n还行\t还行吧\n差\t消极\n');
  const e = await t.throwsAsync(loadLabelledFile(bad, { labels: THREE_SET }));
  t.is(
    e.message,
    `${bad}: 1 bad row:\n  ${bad}:2: label must be an id 0..2 or a name of the label set (0 消极, 1 中性, 2 积极) but is "还行吧"`
  );
});

test('N-class metrics: per-class support, macro and weighted F1, the N x N confusion matrix', (t) => {
  const m = computeMetrics([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3);
  t.deepEqual(m.confusion, [
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 2],
  ]);
  t.deepEqual(
    m.perClass.map((c) => c.support),
    [2, 1, 3]
  );
  const f1 = [0.5, 2 / 3, 0.8];
  t.true(Math.abs(m.macroF1 - (f1[0] + f1[1] + f1[2]) / 3) < 1e-12);
  t.true(Math.abs(m.weightedF1 - (2 * f1[0] + f1[1] + 3 * f1[2]) / 6) < 1e-12);
  t.throws(() => computeMetrics([3], [0], 3), { message: /outside 0..2/ });
  // stratified over five classes: each class split alike
  const ys = Array.from({ length: 100 }, (_, i) => i % 5);
  const { dev } = stratifiedSplit(ys, 0.2, 1);
  t.deepEqual(
    [0, 1, 2, 3, 4].map((c) => dev.filter((i) => ys[i] === c).length),
    [4, 4, 4, 4, 4]
  );
});

let causal;
let embedding;
test.before(async () => {
  causal = path.join(tmpDir(), 'causal');
  embedding = path.join(tmpDir(), 'embedding');
  await createTinyQwen3(causal, { seed: 7 });
  await createTinyQwen3(embedding, { kind: 'embedding', seed: 7 });
});

const LEARNING = {
  lora: { epochs: 4, learningRate: 5e-3, maxLength: 64 }, // the prompt listing five words is 36 tokens
  'lora-head': { epochs: 6, learningRate: 2e-2, lora: { r: 8, alpha: 16, dropout: 0 } },
  full: { epochs: 3, learningRate: 3e-3 },
  embedding: { epochs: 30, learningRate: 1e-2, head: 'linear' },
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const CASES = [
  ['three-class', THREE, THREE_SET, ['lora', 'lora-head', 'full', 'embedding']],
  ['five-class', FIVE, FIVE_SET, ['lora', 'lora-head', 'full', 'embedding']],
];
for (const [name, file, set, methods] of CASES) {
  for (const method of methods) {
    test.serial(
      `${method} on the ${name} set: the loss falls; run.json, predictions and metrics have ${set.length} classes`,
      async (t) => {
        const output = path.join(tmpDir(), 'run');
        const trainer = new Trainer({
          method,
          model: method === 'embedding' ? embedding : causal,
          output,
          device: 'cpu',
          dtype: 'float32',
          maxLength: 32,
          batchSize: 16,
          seed: 3,
          devFraction: 0.2,
          cacheDir: tmpDir(),
          labels: set,
          ...LEARNING[method],
        });
        const losses = [];
        const evals = [];
        trainer.on('progress', (p) => losses.push(p.loss));
        trainer.on('eval', (e) => evals.push(e));
        await trainer.train(file);
        const k = Math.max(2, Math.floor(losses.length / 4));
        const [first, last] = [mean(losses.slice(0, k)), mean(losses.slice(-k))];
        t.log(`${method}: ${losses.length} steps, loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
        t.true(last < first * 0.97, `loss did not fall: ${first} -> ${last}`);
        t.deepEqual(evals[0].labels, set);
        t.is(evals[0].metrics.confusion.length, set.length);
        t.is(evals[0].metrics.perClass.length, set.length);
        const run = JSON.parse(fs.readFileSync(path.join(output, 'run.json'), 'utf8'));
        t.deepEqual(run.labels, labels.id2label(set));
        if (method === 'lora' && set === FIVE_SET) {
          t.is(run.labelTokens.length, set.length);
          t.is(run.labelTokenCounts, undefined); // one token each: today's one-position scoring and run.json
          t.true(run.prompt.includes(`'很差'、'差'、'一般'、'好'或'很好'`), run.prompt);
        }
        if (method === 'lora' && set === THREE_SET) t.deepEqual(run.labelTokenCounts, [1, 2, 1]); // 中性: 2 tokens
        if (method === 'full') {
          const cfg = JSON.parse(fs.readFileSync(path.join(output, 'config.json'), 'utf8'));
          t.deepEqual(cfg.id2label, labels.id2label(set));
          t.deepEqual(cfg.label2id, labels.label2id(set));
        }
        const p = new Predictor({ checkpoint: output, device: 'cpu', dtype: 'float32' });
        try {
          const preds = await p.predict(['这家餐厅非常好，超出预期！', '今天照常']);
          t.deepEqual(p.labels, set);
          for (const r of preds) {
            t.is(r.probabilities.length, set.length);
            t.true(Math.abs(r.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
            t.is(r.sentiment, set[r.label]);
            t.is(r.confidence, Math.max(...r.probabilities));
          }
        } finally {
          p.dispose();
        }
      }
    );
  }
}

test('lora label words of several tokens, or sharing their first token, are kept as token lists', async (t) => {
  const { Qwen3Tokenizer } = require('../../dist');
  const { labelTokensFor, labelWords } = require('../../dist/classifier/encoding');
  const tokenizer = await Qwen3Tokenizer.fromDir(causal);
  const three = await labelTokensFor(THREE_SET, tokenizer);
  t.deepEqual(three.labelTokenCounts, [1, 2, 1]);
  t.deepEqual(
    labelWords(three.labelTokens, three.labelTokenCounts),
    await Promise.all(THREE_SET.map((w) => tokenizer.encode(w)))
  );
  const shared = await labelTokensFor(['中', '中性'], tokenizer);
  const [a, b] = labelWords(shared.labelTokens, shared.labelTokenCounts);
  t.is(a[0], b[0]); // 中性 starts with 中's token
  const five = await labelTokensFor(FIVE_SET, tokenizer);
  t.is(five.labelTokenCounts, undefined);
  t.is(five.labelTokens.length, 5);
});

test.serial('a class missing from the training data is a warning; a label outside the set an error', async (t) => {
  const trainer = new Trainer({
    method: 'embedding',
    model: embedding,
    output: path.join(tmpDir(), 'run'),
    device: 'cpu',
    epochs: 1,
    cacheDir: tmpDir(),
    labels: ['消极', '中性', '积极', '其他'],
  });
  const logs = [];
  trainer.on('log', (l) => logs.push(l));
  await trainer.train(THREE);
  t.true(
    logs.some((l) => /warning: no training examples of 其他/.test(l)),
    logs.join('\n')
  );
  const arrays = { texts: ['a', 'b', 'c'], labels: ['消极', '积极', 'nope'] };
  const e = await t.throwsAsync(
    new Trainer({ method: 'embedding', model: embedding, labels: THREE_SET }).train(arrays)
  );
  t.regex(e.message, /trainData\.labels\[2\] is "nope"/);
});
