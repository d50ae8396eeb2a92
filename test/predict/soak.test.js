'use strict';
// Soak: 10,000 predictions (`npm run test:long`; `npm test` runs 1,000, which checks they all answer but is too short
// to see a leak) in one process, in Predictor.predict() calls of 1 to 16 posts (single texts and
// batches both stay in the loop; one call per post took 38 ms each on this loaded 2-core machine, 6.4 minutes in all),
// with the resident set sampled as they go. A leak of 3 KB per prediction (a Float32Array, a promise, a tokenizer reply
// kept alive) would add 30 MB; the bound of 32 MB past warm-up leaves room for allocator noise (glibc arenas, V8's heap
// growing in steps of a few MB: the fault catalogue saw +3.9 MB over 10,000, one call per post here +4.4 MB).
// The V8 heap logged is this thread's only: the tokenizer thread's shows in the RSS alone. That is where a churning
// BPE word cache once grew the RSS 2.3 MB per 500 predictions until a full collection (+39.8 MB, lib/qwen3/tokenizer-open.ts).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { Predictor } = require('../../dist');
const { loadNative } = require('../../dist/native');
const { tmpDir, weiboLines, trainTinyLoraRun } = require('../helpers/util');

const PREDICTIONS = Number(process.env.QWEN3_SOAK_PREDICTIONS || 1_000);
const WARM_UP = Math.min(1_000, PREDICTIONS / 4);
const SAMPLE_EVERY = 500;
const GROWTH_BOUND_MB = 32;

const root = tmpDir('q3n-soak-');
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

test(`${PREDICTIONS} predictions in one process keep memory flat`, async (t) => {
  const lines = weiboLines(2_000);
  const texts = lines.map((l) => l.slice(0, l.lastIndexOf('\t')));
  const labels = lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1)));
  const run = await trainTinyLoraRun({
    base: path.join(root, 'base'),
    seed: 13,
    output: path.join(root, 'run'),
    texts: texts.slice(0, 32),
    labels: labels.slice(0, 32),
  });
  // One intra-op thread: a tiny model's forward is dozens of short parallel regions, and on a shared 2-core machine a
  // 2-thread OpenMP team waits at each barrier for a descheduled partner (measured 30-50 ms a call instead of ~2).
  loadNative().setNumThreads(1);
  const predictor = new Predictor({ checkpoint: run, device: 'cpu', dtype: 'float32' });
  const samples = [];
  const heap = [];
  const started = Date.now();
  let warm;
  let calls = 0;
  for (let done = 0; done < PREDICTIONS; calls++) {
    const size = Math.min(1 + (calls % 16), PREDICTIONS - done);
    const batch = Array.from({ length: size }, (_, k) => texts[(done + k) % texts.length]);
    const out = size === 1 ? [await predictor.predict(batch[0])] : await predictor.predict(batch);
    for (const p of out) if (!(p.confidence >= 0.5 && p.confidence <= 1)) t.fail(`confidence ${p.confidence}`);
    // Sampled at every crossing of a multiple of SAMPLE_EVERY.
    if (Math.floor((done + size) / SAMPLE_EVERY) > Math.floor(done / SAMPLE_EVERY)) {
      const rss = process.memoryUsage().rss / 2 ** 20;
      samples.push(rss);
      heap.push(process.memoryUsage().heapUsed / 2 ** 20);
      if (warm === undefined && done + size >= WARM_UP) warm = rss;
    }
    done += size;
  }
  predictor.dispose();
  const seconds = (Date.now() - started) / 1000;
  const after = samples.filter((_, k) => (k + 1) * SAMPLE_EVERY > WARM_UP);
  const growth = samples[samples.length - 1] - warm;
  const peak = Math.max(...after) - warm;
  t.log(
    `${PREDICTIONS} predictions in ${calls} calls, ${seconds.toFixed(1)} s; RSS after warm-up (${WARM_UP}) ${warm.toFixed(1)} MB, ` +
      `at the end ${samples[samples.length - 1].toFixed(1)} MB: growth ${growth.toFixed(1)} MB (peak +${peak.toFixed(1)} MB)`
  );
  t.log(`RSS every ${SAMPLE_EVERY} (MB): ${samples.map((s) => s.toFixed(0)).join(' ')}`);
  t.log(`V8 heap used (MB): ${heap.map((s) => s.toFixed(0)).join(' ')}`);
  t.true(growth < GROWTH_BOUND_MB, `RSS grew ${growth.toFixed(1)} MB after warm-up`);
});
