'use strict';
// lora's label words of several tokens, or sharing their first token, against the float64 reference
// (scripts/reference/make_label_fixtures.py): each word scores the sum of its token log-probabilities, the class
// probabilities are their softmax, and the training loss is the mean cross-entropy over the answer tokens (each token
// of the gold word, then the end token).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { FIXTURES, maxAbsDiff } = require('../helpers/util');
const { pack, openClassifier } = require('../helpers/native');

// The tolerance the label probabilities of one-token words meet today (numerics/lora.test.js).
const PROB_TOL = 1e-5;
// Differences of summed log-probs (what the probabilities keep of the scores), float32 against float64.
const SCORE_TOL = 1e-4;

function golden(base) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'label-words', `${base}.json`), 'utf8'));
}

async function open(base, g, extra = {}) {
  const dir = path.join(FIXTURES, g.adapter);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  const c = await openClassifier(base, {
    method: 'lora',
    lora: { r: cfg.r, alpha: cfg.lora_alpha, dropout: 0, rslora: cfg.use_rslora, targetModules: cfg.target_modules },
    numLabels: g.label_words.length,
    labelTokens: g.label_words.flat(),
    labelTokenCounts: g.label_words.map((w) => w.length),
    endToken: g.end_token,
    ...extra,
  });
  await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
  return c;
}

// Worst |p - p_ref| and worst error of the scores' differences to label 0 (log p_k - log p_0 = s_k - s_0).
function compare(probs, refScores) {
  const K = refScores[0].length;
  let prob = 0;
  let score = 0;
  refScores.forEach((ref, i) => {
    const m = Math.max(...ref);
    const e = ref.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    const row = probs.subarray(i * K, (i + 1) * K);
    prob = Math.max(
      prob,
      maxAbsDiff(
        row,
        e.map((v) => v / sum)
      )
    );
    for (let k = 1; k < K; k++)
      score = Math.max(score, Math.abs(Math.log(row[k]) - Math.log(row[0]) - (ref[k] - ref[0])));
  });
  return { prob, score };
}

for (const base of ['tiny-tied-f32', 'tiny-untied-bf16-gqa3']) {
  test(`${base}: label words of several tokens score their summed token log-probs (float64 reference)`, async (t) => {
    const g = golden(base);
    const c = await open(base, g);
    const cases = [
      ['texts', g.sequences, g.label_scores],
      // after a shared prompt of 10 tokens: the prompt cache runs it once, each text keeps its own keys and values
      ['prompted', g.prompted_sequences, g.prompted_label_scores],
    ];
    for (const [name, seqs, scores] of cases) {
      for (const padLeft of [true, false]) {
        const { ids, lengths } = pack(seqs);
        const r = compare(await c.predict(ids, lengths, padLeft), scores);
        t.log(
          `${name} padLeft=${padLeft}: max |p - p_ref| ${r.prob.toExponential(2)}, max score error ${r.score.toExponential(2)}`
        );
        t.true(r.prob < PROB_TOL, `${name} padLeft=${padLeft}: ${r.prob}`);
        t.true(r.score < SCORE_TOL, `${name} padLeft=${padLeft}: ${r.score}`);
      }
      // one text at a time gives the same
      for (let i = 0; i < seqs.length; i++) {
        const { ids, lengths } = pack([seqs[i]]);
        const r = compare(await c.predict(ids, lengths, true), [scores[i]]);
        t.true(r.prob < PROB_TOL && r.score < SCORE_TOL, `${name} ${i} alone: ${JSON.stringify(r)}`);
      }
    }
    t.true(c.stats().tokensReused > 0, 'the prompted batch reused the shared prompt');
    c.dispose();
  });

  test(`${base}: the lora loss of multi-token gold words is the mean cross-entropy over their answer tokens`, async (t) => {
    const g = golden(base);
    const terms = g.answer_ce.flat();
    // the golden's loss is the mean of the per-token cross-entropies (each word token, then the end token)
    t.true(Math.abs(terms.reduce((a, b) => a + b, 0) / terms.length - g.train_loss) < 1e-5);
    const c = await open(base, g);
    for (const padLeft of [true, false]) {
      const { ids, lengths } = pack(g.train_sequences);
      const r = await c.accumulate(ids, lengths, padLeft, Int32Array.from(g.train_labels), 1);
      t.log(`padLeft=${padLeft}: loss ${r.loss} vs ${g.train_loss} (${r.terms} answer tokens)`);
      t.is(r.terms, terms.length);
      t.true(Math.abs(r.loss - g.train_loss) < 1e-5 * Math.max(1, g.train_loss), `loss ${r.loss} vs ${g.train_loss}`);
    }
    // a sequence that does not end with its label's word is refused, naming it
    const { ids, lengths } = pack([g.train_sequences[1].slice(0, -1)]);
    await t.throwsAsync(c.accumulate(ids, lengths, true, Int32Array.from([g.train_labels[1]]), 1), {
      message: /does not end with its label's word/,
    });
    c.dispose();
  });
}

test('one-token words given with token counts take the one-position path, bit for bit', async (t) => {
  const g = golden('tiny-tied-f32');
  const plain = await open('tiny-tied-f32', g, { numLabels: 2, labelTokens: [7, 11], labelTokenCounts: undefined });
  const counted = await open('tiny-tied-f32', g, { numLabels: 2, labelTokens: [7, 11], labelTokenCounts: [1, 1] });
  const { ids, lengths } = pack(g.sequences);
  t.deepEqual(await counted.predict(ids, lengths, true), await plain.predict(ids, lengths, true));
  await t.throwsAsync(open('tiny-tied-f32', g, { numLabels: 2, labelTokens: [9, 4, 9, 4], labelTokenCounts: [2, 2] }), {
    message: /two label words are the same tokens/,
  });
  plain.dispose();
  counted.dispose();
});
