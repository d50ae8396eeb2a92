'use strict';
// The same training, step for step, as a plain transformers + PEFT loop (test/referees/py/hf_train.py): the same base
// weights, the adapter PEFT initialised (loaded here before the first step), the same batches in the same order (our
// Trainer's length-bucketed plan over weibo posts, encoded as it encodes them), dropout 0, AdamW with the same
// hyper-parameters, our cosine schedule with warmup and the same gradient clipping, float32. Per-step losses must
// agree within 1e-4 relative over 30 steps.
const path = require('path');
const { Qwen3Tokenizer } = require('../../dist');
const { ExampleEncoder } = require('../../dist/classifier/encoding');
const { DEFAULT_LABEL_TOKENS, DEFAULT_END_TOKEN, DEFAULT_LORA_PROMPT } = require('../../dist/classifier/methods');
const { ADAMW } = require('../../dist/classifier/native-spec');
const { planEpoch } = require('../../dist/train/data');
const { learningRateAt } = require('../../dist/train/schedule');
const { PAD_TOKEN_ID } = require('../../dist/qwen3/tokens');
const { toNested } = require('../../dist/qwen3/sequences');
const { tmpDir, weiboLines } = require('../helpers/util');
const { readSafetensors } = require('../helpers/safetensors');
const { openClassifierIn } = require('../helpers/native');
const { refereeTest, runReferee, refereeOnce, qwen3Shape: shape } = require('../helpers/peers');

const STEPS = 30;
const BATCH = 8;
const LOSS_RTOL = 1e-4;
// AdamW divides by sqrt(v): where a gradient is near zero, float rounding of the two sides' gradients (~1e-7
// relative) moves the update by up to lr, so weights are compared relative to the largest change training made.
const WEIGHTS_RTOL = 1e-3;
const LORA = {
  r: 8,
  alpha: 16,
  dropout: 0,
  rslora: false,
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
const HYPER = { peak: 2e-3, warmup: 3, scheduler: 'cosine', weightDecay: 0.01, maxGradNorm: 0.5 };

const WORK = tmpDir('q3n-hf-train-');
const base = refereeOnce('hf_models.py', () => ({
  dir: WORK,
  seed: 19,
  sequences: [[1]],
  models: [
    {
      name: 'base',
      kind: 'causal',
      dtype: 'float32',
      config: shape(151936, 64, 128, 2, 4, 2, 16, true, 1e6),
    },
  ],
}));

/** The batches our Trainer plans for the first STEPS steps of an epoch, and their learning rates. */
async function plan(method) {
  const posts = weiboLines(STEPS * BATCH).map((l) => ({
    text: l.slice(0, l.lastIndexOf('\t')),
    label: Number(l.slice(-1)),
  }));
  const encoder = new ExampleEncoder(await Qwen3Tokenizer.bundled(), {
    method,
    maxLength: 96,
    prompt: DEFAULT_LORA_PROMPT,
    labelTokens: DEFAULT_LABEL_TOKENS,
  });
  const seqs = toNested(
    await encoder.encodeForTraining(
      posts.map((p) => p.text),
      posts.map((p) => p.label)
    )
  );
  const batches = planEpoch(
    seqs.map((s) => s.length),
    BATCH,
    42,
    0
  ).map((b) => ({ ids: b.map((i) => seqs[i]), labels: b.map((i) => posts[i].label) }));
  const lrs = batches.map((_, s) => learningRateAt(s, STEPS, HYPER.peak, HYPER.warmup, HYPER.scheduler));
  return { batches: batches.slice(0, STEPS), lrs: lrs.slice(0, STEPS) };
}

for (const method of ['lora', 'lora-head']) {
  refereeTest(
    `${method}: ${STEPS} steps give transformers + PEFT's losses within ${LOSS_RTOL} relative (float32)`,
    async (t) => {
      const baseDir = (await base()).models.base.dir;
      const { batches, lrs } = await plan(method);
      t.is(batches.length, STEPS);
      const dirs = { init: path.join(WORK, `${method}-init`), final: path.join(WORK, `${method}-final`) };
      const hf = await runReferee('hf_train.py', {
        base: baseDir,
        method,
        num_labels: 2,
        lora: { r: LORA.r, alpha: LORA.alpha, rslora: LORA.rslora, targets: LORA.targetModules },
        init_dir: dirs.init,
        final_dir: dirs.final,
        batches,
        lrs,
        weight_decay: HYPER.weightDecay,
        max_grad_norm: HYPER.maxGradNorm,
        end_token: DEFAULT_END_TOKEN,
        pad_id: PAD_TOKEN_ID,
      });

      const c = await openClassifierIn(baseDir, {
        method,
        lora: LORA,
        training: true,
        numLabels: 2,
        labelTokens: [...DEFAULT_LABEL_TOKENS],
        endToken: DEFAULT_END_TOKEN,
        adam: { ...ADAMW, weightDecay: HYPER.weightDecay },
      });
      const losses = [];
      const norms = [];
      try {
        // The adapter (and score head) as PEFT initialised it.
        await c.loadWeights(path.join(dirs.init, 'adapter_model.safetensors'));
        for (const [s, b] of batches.entries()) {
          const lengths = Int32Array.from(b.ids.map((x) => x.length));
          const r = await c.accumulate(Int32Array.from(b.ids.flat()), lengths, true, Int32Array.from(b.labels), 1);
          losses.push(r.loss);
          norms.push(await c.step(lrs[s], HYPER.maxGradNorm));
        }
        await c.saveWeights(path.join(WORK, `${method}-ours.safetensors`));
      } finally {
        c.dispose();
      }
      const rel = losses.map((l, s) => Math.abs(l - hf.losses[s]) / Math.abs(hf.losses[s]));
      const worst = Math.max(...rel);
      const normRel = Math.max(...norms.map((n, s) => Math.abs(n - hf.grad_norms[s]) / hf.grad_norms[s]));
      t.log(
        `loss ${hf.losses[0].toFixed(4)} -> ${hf.losses[STEPS - 1].toFixed(4)}; worst relative loss difference ` +
          `${worst.toExponential(2)} (step ${rel.indexOf(worst) + 1}), gradient norms ${normRel.toExponential(2)}; ` +
          `${norms.filter((n) => n > HYPER.maxGradNorm).length} of ${STEPS} steps clipped`
      );
      t.true(worst < LOSS_RTOL, `losses: ${worst}`);
      t.true(normRel < LOSS_RTOL, `gradient norms: ${normRel}`);
      // The checks see what they claim: training moved the loss, and the clip acted on some steps.
      t.true(Math.abs(hf.losses[STEPS - 1] - hf.losses[0]) > 0.05, 'the loss changed');
      t.true(
        norms.some((n) => n > HYPER.maxGradNorm),
        'some step was clipped'
      );

      const theirs = (await readSafetensors(path.join(dirs.final, 'adapter_model.safetensors'))).tensors;
      const start = (await readSafetensors(path.join(dirs.init, 'adapter_model.safetensors'))).tensors;
      const mine = (await readSafetensors(path.join(WORK, `${method}-ours.safetensors`))).tensors;
      t.deepEqual(Object.keys(mine).sort(), Object.keys(theirs).sort(), 'the same tensors');
      let worstW = 0;
      for (const [k, v] of Object.entries(theirs)) {
        const moved = Math.max(...v.data.map((x, i) => Math.abs(x - start[k].data[i])));
        const diff = Math.max(...v.data.map((x, i) => Math.abs(x - mine[k].data[i])));
        worstW = Math.max(worstW, diff / moved);
      }
      t.log(`final adapter weights: max |diff| ${worstW.toExponential(2)} of the largest change training made`);
      t.true(worstW < WEIGHTS_RTOL, `weights: ${worstW}`);
    }
  );
}
