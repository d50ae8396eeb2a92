'use strict';
// PEFT both ways (test/referees/py/hf_peft.py). Adapters saved by peft (CAUSAL_LM and SEQ_CLS, rank, alpha and
// rsLoRA varied, all seven target modules, the score head with 2 and 3 labels) give their logits here; runs trained
// here load in PeftModel.from_pretrained (a full run in AutoModelForSequenceClassification.from_pretrained) with no
// missing or unexpected key and give our probabilities; merge_and_unload() equals our merge.
const path = require('path');
const { Predictor, Trainer } = require('../../dist');
const { SeededRandom } = require('../../dist/util/seeded-random');
const { loraFromPeftConfig } = require('../../dist/runs/peft');
const { tmpDir, weiboLines } = require('../helpers/util');
const { pack, openClassifierIn, logSoftmax, softmax, worstDiff } = require('../helpers/native');
const { refereeTest, runReferee, refereeOnce, qwen3Shape: shape } = require('../helpers/peers');

const TOL = 1e-5;
const ALL_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const BASES = [
  { name: 'base-tied-f32', kind: 'causal', dtype: 'float32', config: shape(320, 64, 128, 2, 4, 4, 16, true, 1e6) },
  {
    name: 'base-untied-bf16-gqa3',
    kind: 'causal',
    dtype: 'bfloat16',
    config: shape(288, 48, 96, 2, 6, 2, 16, false, 1e4),
  },
  // The real vocabulary: the Trainer tokenizes posts into it.
  { name: 'base-vocab', kind: 'causal', dtype: 'float32', config: shape(151936, 32, 64, 2, 4, 2, 8, true, 1e6) },
];
const ADAPTERS = [
  {
    name: 'causal-r4-a8',
    base: 'base-tied-f32',
    task: 'CAUSAL_LM',
    r: 4,
    alpha: 8,
    rslora: false,
    targets: ALL_TARGETS,
  },
  {
    name: 'causal-r8-a16-rslora',
    base: 'base-untied-bf16-gqa3',
    task: 'CAUSAL_LM',
    r: 8,
    alpha: 16,
    rslora: true,
    targets: ALL_TARGETS,
  },
  {
    name: 'seqcls2-r4-a8',
    base: 'base-tied-f32',
    task: 'SEQ_CLS',
    num_labels: 2,
    r: 4,
    alpha: 8,
    rslora: false,
    targets: ALL_TARGETS,
  },
  {
    name: 'seqcls3-r8-a32-rslora',
    base: 'base-untied-bf16-gqa3',
    task: 'SEQ_CLS',
    num_labels: 3,
    r: 8,
    alpha: 32,
    rslora: true,
    targets: ALL_TARGETS,
  },
  {
    name: 'seqcls3-r2-a4-qvdown',
    base: 'base-tied-f32',
    task: 'SEQ_CLS',
    num_labels: 3,
    r: 2,
    alpha: 4,
    rslora: false,
    targets: ['q_proj', 'v_proj', 'down_proj'],
  },
];
const rand = new SeededRandom(5);
const SEQUENCES = [1, 4, 7, 12, 30].map((n) => Array.from({ length: n }, () => rand.nextInt(288)));

const WORK = tmpDir('q3n-hf-peft-');
/** The bases (save_pretrained), then peft's adapters over them, in one referee process each. */
const made = refereeOnce('hf_models.py', () => ({ dir: WORK, seed: 11, sequences: [[1]], models: BASES }));
const adapters = async () => {
  const bases = (await made()).models;
  return runReferee('hf_peft.py', {
    mode: 'make',
    dir: WORK,
    seed: 3,
    sequences: SEQUENCES,
    adapters: ADAPTERS.map((a) => ({ ...a, base: bases[a.base].dir })),
  });
};
let adaptersOnce;
const peftAdapters = () => (adaptersOnce ??= adapters());

/** Our classifier over an adapter folder, its LoRA settings read from its adapter_config.json as a run's are. */
async function ours(a, base, dir, { merged = false } = {}) {
  const lora = loraFromPeftConfig(path.join(dir, 'adapter_config.json'));
  const vocab = BASES.find((b) => b.name === a.base).config.vocab;
  const causal = a.task === 'CAUSAL_LM';
  const c = await openClassifierIn(base, {
    method: causal ? 'lora' : 'lora-head',
    lora,
    training: false,
    // lora scores the label tokens: all of them, so its probabilities are the full softmax.
    numLabels: causal ? vocab : a.num_labels,
    labelTokens: causal ? Array.from({ length: vocab }, (_, i) => i) : [],
  });
  try {
    await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
    if (merged) await c.merge();
    const { ids, lengths } = pack(SEQUENCES);
    const probs = await c.predict(ids, lengths, true);
    const n = probs.length / SEQUENCES.length;
    return SEQUENCES.map((_, i) => Array.from(probs.subarray(i * n, (i + 1) * n), Math.log));
  } finally {
    c.dispose();
  }
}

for (const a of ADAPTERS) {
  refereeTest(
    `peft's ${a.task} adapter ${a.name}: its logits here, and our merge equals merge_and_unload()`,
    async (t) => {
      const bases = (await made()).models;
      const r = (await peftAdapters()).adapters[a.name];
      const base = bases[a.base].dir;
      const d = worstDiff(await ours(a, base, r.dir), r.logits.map(logSoftmax));
      const dm = worstDiff(await ours(a, base, r.dir, { merged: true }), r.merged_logits.map(logSoftmax));
      t.log(`log-softmax max |diff|: adapter ${d.toExponential(2)}, merged ${dm.toExponential(2)}`);
      t.true(d < TOL, `adapter ${d}`);
      t.true(dm < TOL, `merged ${dm}`);
    }
  );
}

const POSTS = weiboLines(64).map((l) => ({ text: l.slice(0, l.lastIndexOf('\t')), label: Number(l.slice(-1)) }));
const RUNS = [
  { name: 'lora', method: 'lora' },
  { name: 'lora-head', method: 'lora-head', lora: { r: 4, alpha: 16, rslora: true, targetModules: ALL_TARGETS } },
  { name: 'lora-head-3', method: 'lora-head', labels: ['负面', '中性', '正面'] },
  { name: 'full', method: 'full' },
];

/** Runs trained here on the real-vocabulary base, the probabilities we give, and what PEFT makes of the folders. */
const trained = async () => {
  const base = (await made()).models['base-vocab'].dir;
  const texts = POSTS.map((p) => p.text);
  const out = {};
  for (const run of RUNS) {
    const output = path.join(WORK, `run-${run.name}`);
    const labels = run.labels ? POSTS.map((p, i) => (p.label ? 2 : i % 3 === 0 ? 1 : 0)) : POSTS.map((p) => p.label);
    await new Trainer({
      method: run.method,
      model: base,
      output,
      device: 'cpu',
      dtype: 'float32',
      epochs: 1,
      batchSize: 8,
      maxLength: 48,
      learningRate: 5e-3,
      ...(run.lora ? { lora: { ...run.lora, dropout: 0 } } : {}),
      ...(run.labels ? { labels: run.labels } : {}),
      cacheDir: tmpDir(),
    }).train({ texts, labels });
    const p = new Predictor({ checkpoint: output, device: 'cpu', dtype: 'float32' });
    const predictions = await p.predict(texts.slice(0, 12));
    const ids = [];
    for (const text of texts.slice(0, 12)) ids.push(await p.encode(text));
    p.dispose();
    out[run.name] = { output, ids, probabilities: predictions.map((x) => x.probabilities) };
  }
  const loaded = [];
  for (const run of RUNS) {
    loaded.push(
      await runReferee('hf_peft.py', {
        mode: 'load',
        sequences: out[run.name].ids,
        runs: [
          { name: run.name, dir: out[run.name].output, base, method: run.method, num_labels: run.labels?.length ?? 2 },
        ],
      })
    );
  }
  return { ours: out, hf: Object.assign({}, ...loaded.map((l) => l.runs)) };
};
let trainedOnce;
const runs = () => (trainedOnce ??= trained());

for (const run of RUNS) {
  refereeTest(
    `a ${run.name} run trained here loads in ${run.method === 'full' ? 'transformers' : 'PeftModel'} with no missing or unexpected key and gives our probabilities`,
    async (t) => {
      const { ours: o, hf } = await runs();
      const r = hf[run.name];
      t.deepEqual(r.missing, [], 'missing keys');
      t.deepEqual(r.unexpected, [], 'unexpected keys');
      t.deepEqual(r.warnings, [], 'warnings while loading');
      // lora answers with label tokens: their softmax at the answer position (the Predictor's probabilities).
      const { labelTokens } = require(path.join(o[run.name].output, 'run.json'));
      const probs = (logits) => logits.map((row) => softmax(labelTokens ? labelTokens.map((id) => row[id]) : row));
      const ourProbs = o[run.name].probabilities.map((p) => (Array.isArray(p) ? p : Object.values(p)));
      const d = worstDiff(ourProbs, probs(r.logits));
      t.log(
        `probabilities max |diff| ${d.toExponential(2)}${r.merged_logits ? `, merged ${worstDiff(ourProbs, probs(r.merged_logits)).toExponential(2)}` : ''}`
      );
      t.true(d < TOL, `${d}`);
      if (r.merged_logits) t.true(worstDiff(ourProbs, probs(r.merged_logits)) < TOL);
    }
  );
}
