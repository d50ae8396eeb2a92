// Case hf: ours against the real thing on the same torch, what a pip torch user compares: a transformers + PEFT
// training step (bench/hf_peft.py, as the seed scripts' users run it) against ours (the native Classifier, the
// Trainer's step), at Qwen3-0.6B shape, lora and lora-head, float32 and bfloat16 (where the CPU has native bf16);
// our forward against transformers' (the base Qwen3Model); peak RSS of every side. Run it where both sides load the
// same torch: `bash scripts/pip-torch.sh shell cpu -- BENCH_PYTHON=<referees python> node bench/run.js --only hf`
// (docs/development.md): the addon built against the pip torch 2.13 wheel, transformers on that wheel.
'use strict';
const L = require('./lib');

const LORA = L.LORA;

function tokensPerSecond(r) {
  return L.sum(r.tokens) / L.sum(r.times);
}

async function side(fn) {
  try {
    const r = await fn();
    // bench/hf_peft.py says so when transformers or peft is missing from BENCH_PYTHON.
    return r.skipped ? { error: `skipped: ${r.skipped}` } : r;
  } catch (e) {
    return { error: L.errorText(e) };
  }
}

const gb = (m) => (m && m.vmHWM ? (m.vmHWM / 1e9).toFixed(2) : '');

async function run(ctx) {
  const st = ctx.settings;
  const info = L.dist('index').runtimeInfo();
  const dtypes = info.cpuBf16 ? ['float32', 'bfloat16'] : ['float32'];
  const shape = st.shapes[0];
  const summary = { torch: { ours: info.libtorchVersion } };
  const trainRows = [];
  const forwardRows = [];
  const posts = L.samplePosts(st.trainPosts, 5);
  const count = st.trainWarmup + st.trainSteps;
  for (const dtype of dtypes) {
    const dir = await L.ensureWeights(shape, 'causal', dtype);
    for (const method of ['lora', 'lora-head']) {
      const seqs = await L.encodeForTraining(method, posts);
      const labels = posts.map((p) => p.label);
      const { random, bucketed } = L.trainingBatches(
        seqs.map((s) => s.length),
        st.trainBatch,
        count
      );
      const job = { model_dir: dir, dtype, lr: 2e-4, warmup: st.trainWarmup };
      L.log(`hf ${shape} ${method} ${dtype}: ours`);
      const ours = await side(() =>
        L.runNode('train_ours.js', { ...job, method, seqs, labels, plans: { random, bucketed } }, ctx)
      );
      L.log(`hf ${shape} ${method} ${dtype}: transformers + PEFT`);
      const hf = await side(() =>
        L.runPython('hf_peft.py', { ...job, mode: 'train', ...L.pythonTrainingJob(method, seqs, labels, random) }, ctx)
      );
      if (hf.torch) summary.torch.hf = `${hf.torch} (transformers ${hf.transformers}, peft ${hf.peft})`;
      const ok = !ours.error && !hf.error;
      const key = `${shape}/${method}/${dtype}`;
      summary[key] = {
        same: ok ? tokensPerSecond(ours.random) / tokensPerSecond(hf) : undefined,
        bucketed: ok ? tokensPerSecond(ours.bucketed) / tokensPerSecond(hf) : undefined,
        oursRss: ours.memory && ours.memory.vmHWM,
        hfRss: hf.memory && hf.memory.vmHWM,
      };
      const row = (impl, r, vs, memory) => [
        shape,
        method,
        dtype,
        impl,
        r.times.length,
        L.fmt(L.sum(r.times) / r.times.length, 2),
        L.fmt(tokensPerSecond(r), 0),
        vs === undefined ? '' : L.ratio(vs),
        gb(memory),
      ];
      if (ours.error) trainRows.push([shape, method, dtype, 'ours', `error: ${ours.error}`]);
      else {
        trainRows.push(row('ours, same batches', ours.random, summary[key].same, ours.memory));
        trainRows.push(row('ours, length-bucketed batches (Trainer)', ours.bucketed, summary[key].bucketed));
      }
      if (hf.error) trainRows.push([shape, method, dtype, 'transformers + PEFT', `error: ${hf.error}`]);
      else trainRows.push(row('transformers + PEFT', hf, undefined, hf.memory));
    }

    const fposts = L.samplePosts(st.forwardPosts + st.forwardBatch, 11);
    const { Qwen3Tokenizer } = L.dist('index');
    const ids = (await (await Qwen3Tokenizer.bundled()).encodeBatch(fposts.map((p) => p.text))).map((s) =>
      s.length ? s.slice(0, 256) : [L.PAD_ID]
    );
    const batches = L.bucketed(ids.slice(0, st.forwardPosts), st.forwardBatch);
    const fjob = {
      model_dir: dir,
      dtype,
      batches,
      warmup_batches: [ids.slice(st.forwardPosts)],
      pad_id: L.PAD_ID,
    };
    L.log(`hf ${shape} forward ${dtype}: ours, transformers`);
    const ours = await side(() => L.runNode('gpu/ours.js', { ...fjob, mode: 'forward' }, ctx));
    const hf = await side(() => L.runPython('hf_peft.py', { ...fjob, mode: 'forward' }, ctx));
    const ratio = !ours.error && !hf.error ? tokensPerSecond(ours) / tokensPerSecond(hf) : undefined;
    summary[`${shape}/forward/${dtype}`] = {
      ratio,
      oursRss: ours.memory && ours.memory.vmHWM,
      hfRss: hf.memory && hf.memory.vmHWM,
    };
    for (const [impl, r] of [
      ['ours', ours],
      ['transformers', hf],
    ]) {
      if (r.error) forwardRows.push([shape, dtype, impl, `error: ${r.error}`]);
      else
        forwardRows.push([
          shape,
          dtype,
          impl,
          L.fmt(L.sum(r.tokens), 0),
          L.fmt(L.sum(r.times), 2),
          L.fmt(tokensPerSecond(r), 0),
          impl === 'ours' && ratio !== undefined ? L.ratio(ratio) : '',
          gb(r.memory),
        ]);
    }
  }
  return {
    title: 'Against transformers + PEFT on the same pip torch',
    summary,
    sections: [
      {
        heading: 'Training step: forward + backward + clip + AdamW',
        table: {
          columns: ['model', 'method', 'dtype', 'impl', 'steps', 's/step', 'tokens/s', 'ours/theirs', 'peak RSS GB'],
          rows: trainRows,
        },
      },
      {
        heading: 'Forward: hidden states of every token (the base model)',
        table: {
          columns: ['model', 'dtype', 'impl', 'real tokens', 'seconds', 'tokens/s', 'ours/theirs', 'peak RSS GB'],
          rows: forwardRows,
        },
        notes: [
          `Both sides on one torch: the addon on libtorch ${info.libtorchVersion} (built against the pip wheel's), the other side torch ${summary.torch.hf || '(did not run)'}, in their own processes on the same generated ${shape} checkpoint (stored in the row's dtype).`,
          `Training: ${st.trainPosts} posts (seed 5) encoded as the Trainer encodes them, batches of ${st.trainBatch}, ${st.trainWarmup} warm-up and ${st.trainSteps} measured steps. transformers + PEFT: bench/hf_peft.py, what the seed scripts' users run: get_peft_model over AutoModelForCausalLM (lora: the model's own loss on the answer and end tokens) or AutoModelForSequenceClassification (lora-head, task SEQ_CLS), sdpa attention, right padding to the batch's longest, clip_grad_norm_ 1.0, torch AdamW, zero_grad(set_to_none). Ours: bench/train_ours.js (the native Classifier's accumulate + step, as the Trainer calls them) on the same random batches, and on the length-bucketed batches the Trainer plans. LoRA r ${LORA.r}, alpha ${LORA.alpha}, dropout ${LORA.dropout} on ${LORA.targetModules.join('/')}, float32 adapters and score head on both sides.`,
          `Forward: ${st.forwardPosts} posts (seed 11) sorted by length in batches of ${st.forwardBatch}, left-padded on both sides: ours Qwen3Model.embed(ids, { normalize: false }), theirs AutoModelForCausalLM(...).model in inference_mode (sdpa).`,
          'peak RSS: VmHWM of the process that ran the side (loading included), GB = 10^9 bytes.',
        ],
      },
    ],
  };
}

module.exports = { run };
