// Our side of the train case, in its own process (node bench/train_ours.js --job J --out O): the native Classifier
// directly, accumulate + step per batch, timed; also the process's peak RSS.
'use strict';
const fs = require('fs');
const L = require('./lib');

const LORA = L.LORA;

async function main() {
  const args = process.argv.slice(2);
  const job = JSON.parse(fs.readFileSync(args[args.indexOf('--job') + 1], 'utf8'));
  const outFile = args[args.indexOf('--out') + 1];
  const native = L.dist('native').loadNative();
  if (job.threadsOverride) {
    native.runtimeInfo();
    native.setNumThreads(job.threads);
  }
  const { method, dtype, seqs, labels } = job;
  const c = new native.Classifier();
  try {
    const base = await L.nativeBase(job.model_dir);
    const { seconds: initS } = await L.timed(() =>
      c.init({
        method,
        training: true,
        files: base.files,
        config: base.config,
        mapEmbeddings: 'auto',
        device: job.device,
        dtype,
        lora: method === 'full' ? undefined : LORA,
        head: 'linear',
        featureDim: 0,
        headDropout: 0,
        numLabels: 2,
        labelTokens: L.LABEL_TOKENS,
        endToken: L.END_TOKEN,
        gradientCheckpointing: false,
        seed: 42,
        adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
      })
    );
    const out = { initS, afterInit: L.memoryStatus() };
    for (const [name, batches] of Object.entries(job.plans)) {
      const times = [];
      const tokens = [];
      const examples = [];
      for (const [i, b] of batches.entries()) {
        const ids = Int32Array.from(b.flatMap((k) => seqs[k]));
        const lengths = Int32Array.from(b.map((k) => seqs[k].length));
        const lab = Int32Array.from(b.map((k) => labels[k]));
        const { value: r, seconds } = await L.timed(async () => {
          const loss = await c.accumulate(ids, lengths, true, lab, 1);
          await c.step(job.lr, 1);
          return loss;
        });
        if (i >= job.warmup) {
          times.push(seconds);
          tokens.push(r.tokens);
          examples.push(b.length);
        }
        const m = L.memoryStatus();
        L.log(
          `  ours  ${method} ${name} step ${i + 1}/${batches.length}${i < job.warmup ? ' (warm-up)' : ''}: ${seconds.toFixed(2)} s, loss ${r.loss.toFixed(3)}, RSS ${(m.vmRSS / 1e9).toFixed(2)} GB`
        );
      }
      out[name] = { times, tokens, examples };
    }
    out.memory = L.memoryStatus();
    // On CUDA: the caching allocator's peaks over load and both plans (as torch.cuda.max_memory_allocated counts).
    const cuda = L.dist('qwen3/runtime').cudaIndex(job.device || 'cpu');
    if (cuda !== undefined) out.gpu = native.cudaMemory(cuda, false);
    fs.writeFileSync(outFile, JSON.stringify(out));
  } finally {
    c.dispose();
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
