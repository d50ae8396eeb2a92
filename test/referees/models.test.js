'use strict';
// Checkpoints written by transformers' own save_pretrained (test/referees/py/hf_models.py), loaded here: our
// last-token logits, score-head outputs and pooled hidden states against what transformers computes from the same
// files (float32, eager attention), and our embeddings against sentence-transformers' Qwen3-Embedding pooling.
const path = require('path');
const { Qwen3Model } = require('../../dist');
const { SeededRandom } = require('../../dist/util/seeded-random');
const { qwen3TokenizerFiles } = require('../../dist/qwen3/tokenizer');
const { weightFiles } = require('../../dist/qwen3/folder');
const { ENDOFTEXT_ID } = require('../../dist');
const { tmpDir, weiboLines } = require('../helpers/util');
const { pack, openClassifierIn, logSoftmax, worstDiff: worst } = require('../helpers/native');
const { refereeTest, refereeOnce, qwen3Shape: shape } = require('../helpers/peers');

const F32 = 1e-5;
// bfloat16 on both sides: the same weights, each side rounding its activations to bf16 at its own points (HF casts
// after every op; ours keeps RMSNorm, RoPE and softmax in float32). Measured up to 0.14 on logits of std ~2 here.
const BF16 = 0.25;

// Tied and untied, GQA 1 to 4, head_dim apart from hidden / heads, rope_theta 1e4 to 1e6, sharded, float32 and
// bfloat16; the score head with 2 and 3 labels; Qwen3Model as Qwen3-Embedding checkpoints are saved.
const MODELS = [
  {
    name: 'causal-tied-f32-gqa1',
    kind: 'causal',
    dtype: 'float32',
    config: shape(320, 64, 128, 2, 4, 4, 16, true, 1e6),
  },
  {
    name: 'causal-untied-f32-gqa2-hd24',
    kind: 'causal',
    dtype: 'float32',
    config: shape(288, 48, 96, 2, 4, 2, 24, false, 1e4),
  },
  {
    name: 'causal-tied-bf16-gqa4',
    kind: 'causal',
    dtype: 'bfloat16',
    config: shape(256, 64, 160, 3, 8, 2, 8, true, 1e6),
  },
  {
    name: 'causal-untied-f32-gqa3-sharded',
    kind: 'causal',
    dtype: 'float32',
    shard: true,
    config: shape(256, 48, 96, 3, 6, 2, 16, false, 5e5),
  },
  {
    name: 'causal-untied-bf16-gqa2-sharded',
    kind: 'causal',
    dtype: 'bfloat16',
    shard: true,
    config: shape(300, 64, 128, 2, 4, 2, 32, false, 1e6),
  },
  {
    name: 'seqcls2-tied-f32-gqa2',
    kind: 'seqcls',
    numLabels: 2,
    dtype: 'float32',
    config: shape(256, 64, 128, 2, 4, 2, 16, true, 1e6),
  },
  {
    name: 'seqcls3-untied-bf16-gqa3',
    kind: 'seqcls',
    numLabels: 3,
    dtype: 'bfloat16',
    config: shape(260, 48, 96, 2, 6, 2, 8, false, 1e4),
  },
  {
    name: 'embedding-f32-gqa2',
    kind: 'embedding',
    dtype: 'float32',
    config: shape(256, 64, 128, 2, 4, 2, 16, true, 1e6),
  },
];
// Lengths 1 to 40, ids over the smallest vocabulary, and a sequence that repeats one token.
const rand = new SeededRandom(23);
const SEQUENCES = [1, 2, 3, 5, 8, 13, 21, 40].map((n) => Array.from({ length: n }, () => rand.nextInt(256)));
SEQUENCES.push(Array(9).fill(17));

const ST = {
  name: 'qwen3-embedding-shaped',
  // The real vocabulary (151,669 rows, as Qwen3-Embedding-0.6B has), so real posts go through it.
  config: shape(151669, 64, 128, 2, 4, 2, 16, true, 1e6),
  instruction: '判断微博文本的情感倾向是正面还是负面',
};

const TEXTS = [...weiboLines(40).map((l) => l.slice(0, l.lastIndexOf('\t'))), '', '😀'];
const referee = refereeOnce('hf_models.py', () => ({
  dir: tmpDir('q3n-hf-models-'),
  seed: 7,
  sequences: SEQUENCES,
  models: MODELS.map((m) => ({ ...m, num_labels: m.numLabels })),
  tokenizer_dir: path.dirname(qwen3TokenizerFiles().tokenizerJson),
  sentence_transformers: { ...ST, texts: TEXTS },
}));

for (const m of MODELS) {
  refereeTest(`${m.name}: equals transformers on its save_pretrained checkpoint (float32)`, async (t) => {
    const r = (await referee()).models[m.name];
    const model = await Qwen3Model.load(r.dir, { device: 'cpu', dtype: 'float32' });
    try {
      for (const padding of ['left', 'right']) {
        if (m.kind === 'causal') {
          const logits = await model.lastTokenLogits(SEQUENCES, { padding });
          const d = worst(logits, r.last_logits);
          t.log(`${padding} padding: last-token logits max |diff| ${d.toExponential(2)}`);
          t.true(d < F32, `logits ${d}`);
        }
        const hidden = await model.embed(SEQUENCES, { padding, normalize: false });
        const dh = worst(hidden, r.last_hidden);
        const de = worst(await model.embed(SEQUENCES, { padding }), r.embedding);
        t.log(`${padding} padding: last hidden ${dh.toExponential(2)}, normalised ${de.toExponential(2)}`);
        t.true(dh < F32 && de < F32, `hidden ${dh}, embedding ${de}`);
      }
    } finally {
      model.dispose();
    }
    if (m.kind === 'seqcls') {
      // The score head as a full run predicts with it: the native classifier over the checkpoint's own weights.
      const files = await weightFiles(r.dir);
      const cl = await openClassifierIn(r.dir, { method: 'full', training: false, numLabels: m.numLabels });
      try {
        await cl.loadWeights(files[0]);
        const { ids, lengths } = pack(SEQUENCES);
        const probs = await cl.predict(ids, lengths, true);
        const ours = SEQUENCES.map((_, i) =>
          Array.from(probs.subarray(i * m.numLabels, (i + 1) * m.numLabels), Math.log)
        );
        // Our classifier answers probabilities: logits are compared as log-softmax (the same up to each row's shift).
        const d = worst(ours, r.score_logits.map(logSoftmax));
        t.log(`score head (${m.numLabels} labels): log-softmax max |diff| ${d.toExponential(2)}`);
        t.true(d < F32, `score ${d}`);
      } finally {
        cl.dispose();
      }
    }
  });
}

for (const m of MODELS.filter((x) => x.dtype === 'bfloat16' && x.kind === 'causal')) {
  refereeTest(`${m.name}: computing in bfloat16 stays within ${BF16} of transformers in bfloat16`, async (t) => {
    const r = (await referee()).models[m.name];
    const model = await Qwen3Model.load(r.dir, { device: 'cpu', dtype: 'bfloat16' });
    try {
      const d = worst(await model.lastTokenLogits(SEQUENCES), r.bf16_last_logits);
      const scale = Math.max(...r.last_logits.flat().map(Math.abs));
      t.log(`bfloat16 logits max |diff| ${d.toFixed(4)} (largest |logit| ${scale.toFixed(2)})`);
      t.true(d < BF16, `bf16 ${d}`);
    } finally {
      model.dispose();
    }
  });
}

refereeTest(
  'Qwen3-Embedding pooling equals sentence-transformers (last token, normalised; with the instruction)',
  async (t) => {
    const st = (await referee()).sentence_transformers;
    const texts = TEXTS;
    const model = await Qwen3Model.load(st.dir, { device: 'cpu', dtype: 'float32' });
    try {
      const ours = await model.tokenizer.encodeBatch(texts);
      t.deepEqual(
        ours.map((s) => [...s, ENDOFTEXT_ID]),
        st.ids,
        'the ids sentence-transformers embeds are ours with <|endoftext|> appended'
      );
      const d = worst(await model.embed(texts), st.embeddings);
      const dq = worst(await model.embed(texts, { instruction: ST.instruction }), st.query_embeddings);
      t.log(
        `${texts.length} texts: max |diff| ${d.toExponential(2)}; as queries with the instruction ${dq.toExponential(2)}`
      );
      t.true(d < F32 && dq < F32, `${d}, ${dq}`);
    } finally {
      model.dispose();
    }
  }
);
