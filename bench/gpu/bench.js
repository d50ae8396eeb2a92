// The GPU check's benchmark (scripts/gpu-check.sh): ours against Hugging Face transformers + PEFT on the same
// device, weights, batches and sequence lengths, in one run. Each side runs in its own process (its own peak
// memory); a side that fails or is missing is recorded and the rest goes on.
//   node bench/gpu/bench.js <device> <shape: 0.6B | tiny> <out.json> [--quick]
// BENCH_PYTHON, BENCH_DATA and BENCH_WORK (bench/lib.js) choose the Python, the posts and the scratch folder.
'use strict';
const fs = require('fs');
const L = require('../lib');

const SETTINGS = {
  full: { trainPosts: 256, trainBatch: 8, trainWarmup: 3, trainSteps: 15, forwardPosts: 256, forwardBatch: 32 },
  quick: { trainPosts: 64, trainBatch: 8, trainWarmup: 1, trainSteps: 3, forwardPosts: 32, forwardBatch: 16 },
};
const PREDICT = {
  full: { texts: 1000, generateTexts: 32, latency: 5 },
  quick: { texts: 48, generateTexts: 4, latency: 2 },
};
// The old script predicted one text at a time by sampled generation, in float16 on CUDA (float32 on a CPU); the other
// rows give generation our dtype and batching.
const GENERATION = [
  {
    key: 'old',
    batch: 1,
    gpuDtype: 'float16',
    label:
      "the old script's way: one text at a time, float16 (CUDA), PEFT unmerged, sampled generation of up to 10 tokens",
  },
  { key: 'bf16-batched', batch: 16, gpuDtype: 'bfloat16', label: 'bfloat16, batches of 16' },
];

async function side(label, fn) {
  L.log(`-- ${label}`);
  const t0 = Date.now();
  try {
    const r = await fn();
    if (r && r.skipped) L.log(`   skipped: ${r.skipped}`);
    return { ...r, wall: (Date.now() - t0) / 1000 };
  } catch (e) {
    L.log(`   FAILED: ${L.errorText(e)}`);
    return { error: L.errorText(e), wall: (Date.now() - t0) / 1000 };
  }
}

async function trainCase(ctx, dir, st, out, save) {
  const posts = L.samplePosts(st.trainPosts, 5);
  const count = st.trainWarmup + st.trainSteps;
  for (const method of ['lora', 'lora-head']) {
    const seqs = await L.encodeForTraining(method, posts);
    const labels = posts.map((p) => p.label);
    const { random, bucketed } = L.trainingBatches(
      seqs.map((s) => s.length),
      st.trainBatch,
      count
    );
    const job = { model_dir: dir, dtype: 'bfloat16', lr: 2e-4, warmup: st.trainWarmup };
    out.train[method] = {
      ours: await side(`train ${method}: ours`, () =>
        L.runNode('train_ours.js', { ...job, method, seqs, labels, plans: { random, bucketed } }, ctx)
      ),
      hf: await side(`train ${method}: transformers + PEFT`, () =>
        L.runPython('hf_peft.py', { ...job, mode: 'train', ...L.pythonTrainingJob(method, seqs, labels, random) }, ctx)
      ),
    };
    save();
  }
}

async function forwardCase(ctx, dir, st, out) {
  const { Qwen3Tokenizer } = L.dist('index');
  const posts = L.samplePosts(st.forwardPosts + st.forwardBatch, 11);
  const tokenizer = await Qwen3Tokenizer.bundled();
  const ids = (await tokenizer.encodeBatch(posts.map((p) => p.text))).map((s) =>
    s.length ? s.slice(0, 256) : [L.PAD_ID]
  );
  const batches = L.bucketed(ids.slice(0, st.forwardPosts), st.forwardBatch);
  const warmup = [ids.slice(st.forwardPosts), ids.slice(st.forwardPosts, st.forwardPosts + 2)];
  const job = { model_dir: dir, dtype: 'bfloat16', batches, warmup_batches: warmup, pad_id: L.PAD_ID };
  out.forward = {
    lengths: batches.flat().map((s) => s.length),
    padded: L.sum(batches.map((b) => b.length * Math.max(...b.map((s) => s.length)))),
    ours: await side('forward: ours', () => L.runNode('gpu/ours.js', { ...job, mode: 'forward' }, ctx)),
    hf: await side('forward: transformers', () => L.runPython('hf_peft.py', { ...job, mode: 'forward' }, ctx)),
  };
}

async function predictCase(ctx, shape, dir, ps, out) {
  const texts = L.samplePosts(ps.texts, 13).map((p) => p.text);
  const runDir = await L.ensureLoraRun(shape, ctx);
  const ours = await side('predict: ours', () =>
    L.runNode('gpu/ours.js', { mode: 'predict', run_dir: runDir, dtype: 'bfloat16', texts, latency: ps.latency }, ctx)
  );
  out.predict = { texts: texts.length, ours, generation: {} };
  if (ours.error) return;
  const n = Math.min(ps.generateTexts, texts.length);
  for (const g of GENERATION) {
    const r = await side(`predict: transformers + PEFT generation (${g.key})`, () =>
      L.runPython(
        'hf_peft.py',
        {
          mode: 'generate',
          model_dir: dir,
          adapter_dir: runDir,
          dtype: ctx.device === 'cpu' ? 'float32' : g.gpuDtype,
          seqs: ours.ids.slice(0, n),
          latency: ps.latency,
          batch: g.batch,
          max_new_tokens: 10,
          temperature: 0.6,
          top_k: 20,
          top_p: 0.95,
          seed: 0,
          label_tokens: L.LABEL_TOKENS,
          eos: [L.END_TOKEN, L.PAD_ID],
          pad_id: L.PAD_ID,
        },
        ctx
      )
    );
    if (r.labels) r.agree = r.labels.filter((l, i) => l === ours.labels[i]).length / r.labels.length;
    out.predict.generation[g.key] = { ...r, label: g.label, texts: n };
  }
  delete ours.ids;
}

async function main() {
  const [device, shape, outFile, ...rest] = process.argv.slice(2);
  const quick = rest.includes('--quick');
  const st = SETTINGS[quick ? 'quick' : 'full'];
  const ps = PREDICT[quick ? 'quick' : 'full'];
  const ctx = { device, threads: undefined, threadsOverride: false };
  const t0 = Date.now();
  const out = { device, shape, quick, settings: { ...st, ...ps }, data: L.DATA, train: {} };
  // Saved after every case: a run stopped by its time limit still reports what it measured.
  const save = () => fs.writeFileSync(outFile, JSON.stringify({ ...out, seconds: (Date.now() - t0) / 1000 }));
  out.roofline = await side('roofline: bf16 matmul rate', () =>
    L.runPython(
      'roofline.py',
      {
        dtypes: ['bfloat16'],
        shapes:
          device === 'cpu'
            ? [[512, 1024, 1024]]
            : [
                [8192, 8192, 8192],
                [2048, 1024, 3072],
              ],
        min_seconds: device === 'cpu' ? 0.3 : 1.0,
      },
      ctx
    )
  );
  let dir;
  const weights = await side(`weights: random ${shape} checkpoint (bench/gen_weights.py)`, async () => {
    dir = await L.ensureWeights(shape, 'causal');
    return {};
  });
  out.weights = { ...weights, config: L.SHAPES[shape] };
  save();
  if (dir) {
    await trainCase(ctx, dir, st, out, save);
    await forwardCase(ctx, dir, st, out);
    save();
    await predictCase(ctx, shape, dir, ps, out).catch((e) => (out.predict = { error: L.errorText(e) }));
  }
  save();
  L.log(`bench: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
