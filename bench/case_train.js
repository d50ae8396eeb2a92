// Case 3: training step tokens/s with the native Classifier (accumulate + step) against an HF-style eager step
// (bench/train_eager.py: full-vocabulary logits at every position, padding to the batch's longest, PEFT LoRA, AdamW).
'use strict';
const L = require('./lib');

const LORA = L.LORA;

/** Batches of indices: in random order (what a DataCollator sees) and as our Trainer plans them (length-bucketed). */
function row(shape, method, dtype, impl, r, vs, memory) {
  const s = L.sum(r.times);
  return [
    shape,
    method,
    dtype,
    impl,
    r.times.length,
    L.fmt(s / r.times.length, 2),
    L.fmt(L.sum(r.examples) / s, 1),
    L.fmt(L.sum(r.tokens) / s, 0),
    vs === undefined ? '' : L.ratio(vs),
    memory ? (memory.vmHWM / 1e9).toFixed(2) : '',
  ];
}

/**
 * Millisecond steps (tiny model): each step's time becomes its tokens x the median seconds per token over the steps,
 * on both sides, so that one scheduler hiccup of a shared machine does not decide the ratio.
 */
function robustTimes(r) {
  if (!r || r.error) return r;
  const perToken = L.median(r.times.map((t, i) => t / r.tokens[i]));
  return { ...r, times: r.tokens.map((n) => n * perToken) };
}

async function run(ctx) {
  const st = ctx.settings;
  ctx.settings = st;
  const posts = L.samplePosts(st.trainPosts, 5);
  const rows = [];
  const summary = {};
  const { planEpoch } = L.dist('train/data');
  for (const shape of ctx.shapes) {
    const methods = shape === 'tiny' ? ['lora', 'lora-head', 'full'] : ['lora', 'lora-head'];
    let dir;
    try {
      dir = await L.ensureWeights(shape, 'causal');
    } catch (e) {
      rows.push([shape, '', '', 'weights', `error: ${L.errorText(e)}`]);
      continue;
    }
    // The tiny model's steps take milliseconds: more warm-up and more measured steps.
    const warmup = shape === 'tiny' ? 4 : st.trainWarmup;
    const count = warmup + (shape === 'tiny' ? Math.max(st.trainSteps, 24) : st.trainSteps);
    for (const method of methods) {
      const dtype = method === 'full' ? 'float32' : 'bfloat16';
      try {
        const seqs = await L.encodeForTraining(method, posts);
        const labels = posts.map((p) => p.label);
        const { random, bucketed } = L.trainingBatches(
          seqs.map((s) => s.length),
          st.trainBatch,
          count
        );
        L.log(`train ${shape} ${method} ours`);
        let o;
        try {
          o = await L.runNode(
            'train_ours.js',
            { model_dir: dir, method, dtype, seqs, labels, plans: { random, bucketed }, warmup, lr: 2e-4 },
            ctx
          );
        } catch (e) {
          o = { error: L.errorText(e) };
        }
        L.log(`train ${shape} ${method} eager`);
        let e;
        try {
          e = await L.runPython(
            'train_eager.py',
            {
              model_dir: dir,
              dtype,
              device: ctx.device,
              warmup,
              lr: 2e-4,
              ...L.pythonTrainingJob(method, seqs, labels, random),
            },
            ctx
          );
        } catch (err) {
          e = { error: L.errorText(err) };
        }
        if (shape === 'tiny') {
          if (!o.error) o = { ...o, random: robustTimes(o.random), bucketed: robustTimes(o.bucketed) };
          e = robustTimes(e);
        }
        const tps = (r) => L.sum(r.tokens) / L.sum(r.times);
        const vs = !o.error && !e.error ? tps(o.random) / tps(e) : undefined;
        summary[`${shape}/${method}`] = {
          same: vs,
          bucketed: !o.error && !e.error ? tps(o.bucketed) / tps(e) : undefined,
          oursPeakRss: o.memory && o.memory.vmHWM,
          eagerPeakRss: e.memory && e.memory.vmHWM,
        };
        if (o.error) rows.push([shape, method, dtype, 'ours', `error: ${o.error}`]);
        else {
          rows.push(row(shape, method, dtype, 'ours, same batches', o.random, vs, o.memory));
          rows.push(
            row(
              shape,
              method,
              dtype,
              'ours, length-bucketed batches (Trainer)',
              o.bucketed,
              e.error ? undefined : tps(o.bucketed) / tps(e)
            )
          );
        }
        if (e.error) rows.push([shape, method, dtype, 'eager', `error: ${e.error}`]);
        else rows.push(row(shape, method, dtype, 'eager (HF-style)', e, undefined, e.memory));
      } catch (err) {
        rows.push([shape, method, dtype, '', `error: ${L.errorText(err)}`]);
      }
    }
  }
  return {
    title: 'Training step: forward + backward + AdamW',
    summary,
    sections: [
      {
        table: {
          columns: [
            'model',
            'method',
            'base dtype',
            'impl',
            'steps',
            's/step',
            'examples/s',
            'tokens/s',
            'ours/eager',
            'peak RSS GB',
          ],
          rows,
        },
        notes: [
          `${st.trainPosts} posts sampled from train.txt (seed 5), encoded as the Trainer encodes them (lora: prompt + post + label token; lora-head/full: the post), max 256 tokens. Batches of ${st.trainBatch}; ${st.trainWarmup} warm-up step, then ${st.trainSteps} measured steps (accumulate + step), each configuration (tiny model: 4 warm-up and ${Math.max(st.trainSteps, 24)} measured steps, each step's time taken as its tokens x the median seconds per token of its side's steps, as a hiccup of this shared machine would otherwise outweigh millisecond steps).`,
          '"same batches": random batches (as a DataCollator gets them), identical on both sides; "length-bucketed": the batches our Trainer plans (planEpoch), which pad less. tokens/s counts real tokens of the examples (prompt + post + label).',
          `LoRA r ${LORA.r}, alpha ${LORA.alpha}, dropout ${LORA.dropout} on ${LORA.targetModules.join('/')}, fp32 adapters over a bf16 base; lora-head adds a fp32 score head; full trains every weight in fp32 (tiny model only). AdamW lr 2e-4, weight decay 0.01, clip 1.0.`,
          'peak RSS: VmHWM of the process that ran the side (ours: bench/train_ours.js, both batch plans; eager: the Python process), GB = 10^9 bytes.',
          'eager: bench/train_eager.py; lora projects the full 151,936-token vocabulary at every position and upcasts the logits to fp32 for the loss (transformers ForCausalLMLoss), loss on the 2 answer tokens; ours computes lm_head only at the 2 answer positions.',
        ],
      },
    ],
  };
}

module.exports = { run };
