// The GPU check's numerics (scripts/gpu-check.sh): the core on DEVICE against the float64 goldens at the CPU's
// tolerances, and against the same code on the CPU in the same process.
//   node bench/gpu/numerics.js <device> <out.json>       (device: cuda, cuda:N, or cpu for the dry run)
'use strict';
const fs = require('fs');
const path = require('path');
const { Qwen3Model, runtimeInfo, resolveDeviceAndDtype } = require('../../dist');
const { FIXTURES, maxAbsDiff, goldens, fixtureModel } = require('../../test/helpers/util');
const { pack, openClassifier, softmax } = require('../../test/helpers/native');

// The tolerances of test/numerics/model.test.js and test/numerics/lora.test.js (CPU), and test/fixtures/README.md's bf16 ones.
const TOL = {
  logits: 1e-4,
  hidden: 1e-4,
  embedding: 1e-5,
  lowLogits: 0.3,
  lowEmbedding: 2e-2,
  probs: 1e-5,
  loss: 1e-5,
};
const MODELS = fs.readdirSync(path.join(FIXTURES, 'models')).sort();

const checks = [];
function check(name, value, tolerance, extra = {}) {
  const ok = Number.isFinite(value) && value <= tolerance;
  checks.push({ name, ok, value, tolerance, ...extra });
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${fmt(value)} (<= ${tolerance})`);
}
function fail(name, error) {
  checks.push({ name, ok: false, error: String(error && error.message ? error.message : error).slice(0, 400) });
  console.log(`  FAIL ${name}: ${checks[checks.length - 1].error}`);
}
const fmt = (x) => (typeof x === 'number' ? x.toExponential(2) : String(x));
const rowsMax = (rows, want) => Math.max(...want.map((w, i) => maxAbsDiff(rows[i], w)));

async function guarded(name, fn) {
  try {
    await fn();
  } catch (e) {
    fail(name, e);
  }
}

async function forwardChecks(device) {
  for (const name of MODELS) {
    const g = goldens(name);
    for (const padding of ['left', 'right']) {
      await guarded(`float32 ${name} (${padding})`, async () => {
        const m = await Qwen3Model.load(fixtureModel(name), { device, dtype: 'float32' });
        try {
          if (m.hasLmHead)
            check(
              `float32 logits ${name} (${padding})`,
              rowsMax(await m.lastTokenLogits(g.sequences, { padding }), g.last_token_logits),
              TOL.logits
            );
          const hidden = await m.embed(g.sequences, { padding, normalize: false });
          check(`float32 hidden ${name} (${padding})`, rowsMax(hidden, g.last_token_hidden), TOL.hidden);
          check(
            `float32 embedding ${name} (${padding})`,
            rowsMax(await m.embed(g.sequences, { padding }), g.embedding),
            TOL.embedding
          );
        } finally {
          m.dispose();
        }
      });
    }
    const major = Number.parseInt(runtimeInfo().libtorchVersion, 10);
    for (const dtype of device === 'cpu' && major < 2 ? ['bfloat16'] : ['bfloat16', 'float16']) {
      await guarded(`${dtype} ${name}`, async () => {
        const m = await Qwen3Model.load(fixtureModel(name), { device, dtype });
        try {
          if (m.hasLmHead)
            check(
              `${dtype} logits ${name}`,
              rowsMax(await m.lastTokenLogits(g.sequences), g.last_token_logits),
              TOL.lowLogits
            );
          check(`${dtype} embedding ${name}`, rowsMax(await m.embed(g.sequences), g.embedding), TOL.lowEmbedding);
        } finally {
          m.dispose();
        }
      });
    }
  }
}

function loraSpec(dir) {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  return { r: cfg.r, alpha: cfg.lora_alpha, dropout: 0, rslora: cfg.use_rslora, targetModules: cfg.target_modules };
}

async function peftChecks(device) {
  for (const base of ['tiny-tied-f32', 'tiny-untied-bf16-gqa3']) {
    for (const kind of ['causal', 'seqcls']) {
      const name = `${base}-${kind}`;
      await guarded(`peft ${name}`, async () => {
        const dir = path.join(FIXTURES, 'peft', name);
        const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'peft', `${name}.json`), 'utf8'));
        const vocab = kind === 'causal' ? g.last_token_logits[0].length : 2;
        const spec =
          kind === 'causal'
            ? { method: 'lora', lora: loraSpec(dir), numLabels: vocab, labelTokens: [...Array(vocab).keys()] }
            : { method: 'lora-head', lora: loraSpec(dir) };
        const c = await openClassifier(base, { ...spec, device, training: false });
        try {
          await c.loadWeights(path.join(dir, 'adapter_model.safetensors'));
          const { ids, lengths } = pack(g.sequences);
          const probs = await c.predict(ids, lengths, true);
          const want = kind === 'causal' ? g.last_token_logits : g.seq_cls_logits;
          const rows = want.map((_, i) => probs.subarray(i * vocab, (i + 1) * vocab));
          check(`peft ${name} probabilities`, rowsMax(rows, want.map(softmax)), TOL.probs);
        } finally {
          c.dispose();
        }
      });
    }
  }
}

/** One accumulate on the fixtures' batch: loss and gradients against the float64 golden and against the CPU. */
async function gradChecks(device) {
  for (const kase of ['lora', 'lora-head', 'full']) {
    await guarded(`grad ${kase}`, async () => {
      const g = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'grad', `${kase}.json`), 'utf8'));
      const dir = path.join(FIXTURES, 'grad', kase);
      const spec =
        kase === 'full'
          ? { method: 'full' }
          : { method: kase, lora: loraSpec(dir), labelTokens: g.label_tokens, endToken: g.end_token };
      const run = async (dev) => {
        const c = await openClassifier(g.base, { ...spec, device: dev });
        try {
          await c.loadWeights(path.join(dir, kase === 'full' ? 'score.safetensors' : 'adapter_model.safetensors'));
          const { ids, lengths } = pack(g.sequences);
          const r = await c.accumulate(ids, lengths, true, Int32Array.from(g.labels), 1);
          return { loss: r.loss, grads: await c.gradients() };
        } finally {
          c.dispose();
        }
      };
      const here = await run(device);
      const cpu = device === 'cpu' ? here : await run('cpu');
      check(`grad ${kase}: loss vs float64`, Math.abs(here.loss - g.loss), TOL.loss);
      check(`grad ${kase}: loss vs cpu`, Math.abs(here.loss - cpu.loss), TOL.loss);
      let worst = 0;
      let worstCpu = 0;
      for (const [n, want] of Object.entries(g.grads)) {
        if (!here.grads[n]) throw new Error(`missing gradient ${n}`);
        const scale = Math.max(...want.values.map(Math.abs));
        // As the CPU test: |diff| <= 1e-5 + 1e-3 * scale, reported as the fraction of that allowance used.
        worst = Math.max(worst, maxAbsDiff(here.grads[n], want.values) / (1e-5 + 1e-3 * scale));
        worstCpu = Math.max(worstCpu, maxAbsDiff(here.grads[n], cpu.grads[n]) / (1e-5 + 1e-3 * scale));
      }
      check(`grad ${kase}: gradients vs float64 (share of 1e-5 + 1e-3 x max|g|)`, worst, 1);
      check(`grad ${kase}: gradients vs cpu (share of 1e-5 + 1e-3 x max|g|)`, worstCpu, 1);
    });
  }
}

const TRAIN = [
  [[3, 17, 99, 7], 0],
  [[45, 2, 200, 18, 11], 1],
  [[9, 9, 9, 120, 7], 0],
  [[250, 1, 11], 1],
];
const PROBE = [[5, 6, 7], [100, 101, 102, 103, 104, 105], [42], [7, 11, 7, 11, 9, 200, 30, 1]];

/** Five AdamW steps on the device and on the CPU from the same seed: losses, then predictions, agree in float32. */
async function trajectoryChecks(device) {
  for (const method of ['lora', 'lora-head']) {
    await guarded(`steps ${method}`, async () => {
      const lora = {
        r: 4,
        alpha: 8,
        dropout: 0,
        rslora: false,
        targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj'],
      };
      const run = async (dev) => {
        const c = await openClassifier('tiny-untied-bf16-gqa3', {
          method,
          lora,
          labelTokens: [7, 11],
          endToken: 5,
          seed: 5,
          device: dev,
        });
        try {
          const losses = [];
          const norms = [];
          for (let step = 0; step < 5; step++) {
            const { ids, lengths } = pack(TRAIN.map((x) => x[0]));
            losses.push((await c.accumulate(ids, lengths, true, Int32Array.from(TRAIN.map((x) => x[1])), 1)).loss);
            norms.push(await c.step(0.05, 1));
          }
          const { ids, lengths } = pack(PROBE);
          return { losses, norms, probs: Array.from(await c.predict(ids, lengths, true)) };
        } finally {
          c.dispose();
        }
      };
      const here = await run(device);
      const cpu = device === 'cpu' ? here : await run('cpu');
      check(`steps ${method}: 5 losses vs cpu`, maxAbsDiff(here.losses, cpu.losses), 1e-4);
      check(
        `steps ${method}: 5 gradient norms vs cpu (relative)`,
        Math.max(...here.norms.map((n, i) => Math.abs(n - cpu.norms[i]) / cpu.norms[i])),
        1e-4
      );
      check(`steps ${method}: predictions after training vs cpu`, maxAbsDiff(here.probs, cpu.probs), 1e-4);
    });
  }
}

async function deviceChecks(device) {
  const info = runtimeInfo();
  await guarded('device auto', async () => {
    const { device: auto, dtype } = resolveDeviceAndDtype({ device: 'auto' });
    const want = info.cudaAvailable ? 'cuda' : 'cpu';
    checks.push({
      name: `device 'auto' picks ${want}`,
      ok: auto === want && (auto === 'cpu' || dtype === 'bfloat16'),
      value: `${auto}/${dtype}`,
    });
  });
  await guarded('cuda:N', async () => {
    if (!info.cudaAvailable) {
      let message = '';
      await Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cuda:0' }).catch((e) => (message = e.message));
      checks.push({
        name: "no CUDA: 'cuda:0' is refused by name",
        ok: /cuda:0.*no CUDA device/.test(message),
        value: message.slice(0, 120),
      });
      return;
    }
    const g = goldens('tiny-tied-f32');
    const a = await Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cuda', dtype: 'float32' });
    const last = `cuda:${info.cudaDeviceCount - 1}`;
    const b = await Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: last, dtype: 'float32' });
    check(
      `'cuda' and '${last}' give the same logits`,
      rowsMax(await a.lastTokenLogits(g.sequences), await b.lastTokenLogits(g.sequences)),
      1e-5
    );
    a.dispose();
    b.dispose();
    let message = '';
    await Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: `cuda:${info.cudaDeviceCount}` }).catch(
      (e) => (message = e.message)
    );
    checks.push({
      name: `'cuda:${info.cudaDeviceCount}' (absent) is refused`,
      ok: /sees \d+ CUDA device/.test(message),
      value: message.slice(0, 120),
    });
  });
}

async function main() {
  const [device, out] = process.argv.slice(2);
  const t0 = Date.now();
  console.log(`numerics on ${device}`);
  await deviceChecks(device);
  await forwardChecks(device);
  await peftChecks(device);
  await gradChecks(device);
  await trajectoryChecks(device);
  const failed = checks.filter((c) => !c.ok);
  fs.writeFileSync(
    out,
    JSON.stringify(
      {
        device,
        seconds: (Date.now() - t0) / 1000,
        passed: checks.length - failed.length,
        failed: failed.length,
        checks,
      },
      null,
      1
    )
  );
  console.log(
    `numerics: ${checks.length - failed.length}/${checks.length} passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`
  );
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
