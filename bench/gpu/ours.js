// Our side of the GPU bench's forward and predict measurements, in a process of its own so that its peak GPU memory
// is its own (node bench/gpu/ours.js --job J --out O, as bench/lib.js runJob starts it).
//   job.mode 'forward': Qwen3Model.embed(ids, { normalize: false }) over the batches, after warm-up batches
//   job.mode 'predict': Predictor over a run folder: load, warm-up, one-text latency, all texts
'use strict';
const fs = require('fs');
const L = require('../lib');
const { cudaIndex } = require('../../dist/qwen3/runtime');

function gpuMemory(device) {
  const index = cudaIndex(device);
  return index === undefined ? undefined : L.dist('native').loadNative().cudaMemory(index, false);
}

async function forward(job) {
  const { Qwen3Model } = L.dist('index');
  const { value: model, seconds: loadS } = await L.timed(() =>
    Qwen3Model.load(job.model_dir, { device: job.device, dtype: job.dtype })
  );
  try {
    const opts = { normalize: false, batchSize: 1024 };
    for (const b of job.warmup_batches) await model.embed(b, opts);
    const times = [];
    const tokens = [];
    let first;
    for (const b of job.batches) {
      const { value, seconds } = await L.timed(() => model.embed(b, opts));
      times.push(seconds);
      tokens.push(L.sum(b.map((s) => s.length)));
      if (!first) first = value.map((v) => Array.from(v));
    }
    return { loadS, times, tokens, first, memory: L.memoryStatus(), gpu: gpuMemory(job.device) };
  } finally {
    model.dispose();
  }
}

async function predict(job) {
  const { Predictor } = L.dist('index');
  const p = new Predictor({ checkpoint: job.run_dir, device: job.device, dtype: job.dtype });
  try {
    const { seconds: loadS } = await L.timed(() => p.load());
    await p.predict(job.texts.slice(0, 8));
    const latency = [];
    for (let i = 0; i < job.latency; i++) latency.push((await L.timed(() => p.predict(job.texts[i]))).seconds);
    const { value: preds, seconds } = await L.timed(() => p.predict(job.texts));
    const ids = [];
    for (const t of job.texts) ids.push(await p.encode(t));
    return {
      loadS,
      latency,
      seconds,
      labels: preds.map((x) => x.label),
      ids,
      memory: L.memoryStatus(),
      gpu: gpuMemory(job.device),
    };
  } finally {
    p.dispose();
  }
}

async function main() {
  const args = process.argv.slice(2);
  const job = JSON.parse(fs.readFileSync(args[args.indexOf('--job') + 1], 'utf8'));
  const out = job.mode === 'forward' ? await forward(job) : await predict(job);
  fs.writeFileSync(args[args.indexOf('--out') + 1], JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
