// The GPU check's interop step (scripts/gpu-check.sh): runs of every trainable method are trained HERE, on the CPU,
// with the Trainer on a tiny random model; the Predictor on DEVICE must agree with the Predictor on the CPU; and
// bench/hf_interop.py then loads the same run folders with Hugging Face transformers + PEFT and compares its
// probabilities with ours.
//   node bench/gpu/interop.js <device> <work dir> <out.json> [--quick]   (--quick: 48 training posts, not 96)
'use strict';
const fs = require('fs');
const path = require('path');
const { Trainer, Predictor, createTinyQwen3, loadLabelledFile } = require('../../dist');

const ROOT = path.resolve(__dirname, '..', '..');

function maxAbs(a, b) {
  let m = 0;
  a.forEach((row, i) => row.forEach((x, j) => (m = Math.max(m, Math.abs(x - b[i][j])))));
  return m;
}

async function predictAll(dir, device, dtype, texts) {
  const p = new Predictor({ checkpoint: dir, device, dtype });
  try {
    const preds = await p.predict(texts);
    const ids = [];
    for (const t of texts) ids.push(await p.encode(t));
    return { probs: preds.map((x) => x.probabilities), labels: preds.map((x) => x.label), ids };
  } finally {
    p.dispose();
  }
}

async function main() {
  const [device, work, out, ...rest] = process.argv.slice(2);
  const samples = rest.includes('--quick') ? 48 : 96;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const base = path.join(work, 'tiny');
  await createTinyQwen3(base, { kind: 'causal', seed: 0, dtype: 'float32' });
  const train = await loadLabelledFile(path.join(ROOT, 'data', 'weibo_sample.txt'));
  const probe = (await loadLabelledFile(path.join(ROOT, 'data', 'weibo_sample_test.txt'))).texts;
  const runs = [];
  for (const method of ['lora', 'lora-head', 'full']) {
    const t0 = Date.now();
    const dir = path.join(work, `run-${method}`);
    const r = { method, dir, base };
    try {
      const trainer = new Trainer({
        method,
        model: base,
        output: dir,
        epochs: 1,
        maxSamples: samples,
        batchSize: 8,
        device: 'cpu',
        dtype: 'float32',
        seed: 3,
        ...(method === 'full' ? { learningRate: 1e-3 } : {}),
      });
      await trainer.train({ texts: train.texts, labels: train.labels });
      r.trainSeconds = (Date.now() - t0) / 1000;
      const cpu = await predictAll(dir, 'cpu', 'float32', probe);
      const here = device === 'cpu' ? cpu : await predictAll(dir, device, 'float32', probe);
      const low = await predictAll(dir, device, 'bfloat16', probe);
      r.ids = cpu.ids;
      r.probs = cpu.probs;
      r.labelTokens = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).labelTokens;
      r.float32 = {
        maxProbDiff: maxAbs(here.probs, cpu.probs),
        agree: here.labels.filter((l, i) => l === cpu.labels[i]).length / probe.length,
      };
      r.bfloat16 = {
        maxProbDiff: maxAbs(low.probs, cpu.probs),
        agree: low.labels.filter((l, i) => l === cpu.labels[i]).length / probe.length,
        nearTies: cpu.probs.filter((p) => Math.abs(p[1] - p[0]) < 0.02).length,
      };
      console.log(
        `  ${method}: trained on the CPU in ${r.trainSeconds.toFixed(1)} s; ${device} float32 vs cpu: max |dp| ${r.float32.maxProbDiff.toExponential(2)}, labels agree ${(100 * r.float32.agree).toFixed(1)}%; bfloat16: ${(100 * r.bfloat16.agree).toFixed(1)}%`
      );
    } catch (e) {
      r.error = String(e && e.message ? e.message : e).slice(0, 400);
      console.log(`  ${method}: FAILED: ${r.error}`);
    }
    runs.push(r);
  }
  fs.writeFileSync(out, JSON.stringify({ device, samples, texts: probe.length, runs }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
