// One rank of bench/case_distributed.js (torchrun's variables in the environment), argv[2] the job as JSON:
//   { kind: 'allreduce', sizes: { name: [tensor sizes] }, iterations }  -> median ms of one averaged all-reduce
//   { kind: 'train', options, data }                                    -> tokens and seconds of the optimizer steps
'use strict';
const path = require('path');
const ROOT = path.resolve(__dirname, '..');

async function allReduce(job) {
  const { distributedFromEnv, resolveDistributed } = require(path.join(ROOT, 'dist', 'train', 'distributed'));
  const { loadNative } = require(path.join(ROOT, 'dist', 'native'));
  const d = resolveDistributed(distributedFromEnv());
  const native = loadNative();
  native.setNumThreads(1);
  const group = new native.ProcessGroup();
  await group.init({ ...d, bucketBytes: 25 * 1024 * 1024 });
  const out = {};
  for (const [name, sizes] of Object.entries(job.sizes)) {
    const arrays = sizes.map((n) => new Float32Array(n).fill(d.rank + 1));
    const times = [];
    for (let i = 0; i < job.iterations + 2; i++) {
      const t = process.hrtime.bigint();
      const r = await group.allReduceMean(arrays);
      if (i >= 2) times.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (Math.abs(r[0][0] - 1.5) > 1e-6) throw new Error(`all-reduce gave ${r[0][0]}, not 1.5`);
    }
    times.sort((a, b) => a - b);
    out[name] = { params: sizes.reduce((a, b) => a + b, 0), tensors: sizes.length, medianMs: times[times.length >> 1] };
  }
  group.dispose();
  return out;
}

async function train(job) {
  const { Trainer } = require(path.join(ROOT, 'dist'));
  const trainer = new Trainer(job.options);
  let tokens = 0;
  let seconds = 0;
  let steps = 0;
  trainer.on('progress', (p) => {
    steps++;
    if (steps === 1)
      return process.stderr.write(`  step 1 (warm-up): ${(p.tokens / p.tokensPerSecond).toFixed(1)} s\n`);
    tokens += p.tokens;
    seconds += p.tokens / p.tokensPerSecond;
    process.stderr.write(`  step ${p.step}: ${p.tokens} tokens, ${(p.tokens / p.tokensPerSecond).toFixed(1)} s\n`);
  });
  await trainer.train(job.data, job.evalData ? { evalData: job.evalData } : undefined);
  return { tokens, seconds, steps };
}

(async () => {
  const job = JSON.parse(process.argv[2]);
  const result = job.kind === 'allreduce' ? await allReduce(job) : await train(job);
  process.stdout.write(JSON.stringify(result) + '\n');
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
