// Case 4: prediction with a lora run (Predictor: one forward pass, label-token logits at the answer position)
// against ten-token sampled generation with a KV cache on the same weights (bench/generate_eager.py), and whether
// the greedy first-token label of generation agrees with ours.
'use strict';
const L = require('./lib');

// The old script predicted one text at a time with generate(max_new_tokens=10, do_sample=True), in float32 on a CPU
// (it asked for float16 only on CUDA). The other two rows give generation every advantage ours has.
const BASELINES = [
  {
    key: 'old',
    dtype: 'float32',
    batch: 1,
    label: "the old script's way: one text at a time, float32, sampled generation of up to 10 tokens with a KV cache",
  },
  { key: 'bf16', dtype: 'bfloat16', batch: 1, label: 'the same in bfloat16 (our dtype)' },
  { key: 'bf16-batched', dtype: 'bfloat16', batch: 16, label: 'bfloat16, batches of 16' },
];

async function run(ctx) {
  const st = ctx.settings;
  const { Predictor } = L.dist('index');
  const rows = [];
  const summary = {};
  const posts = L.samplePosts(st.predictTexts, 13);
  const texts = posts.map((p) => p.text);
  for (const shape of ctx.shapes) {
    try {
      const runDir = await L.ensureLoraRun(shape, ctx);
      const baseDir = await L.ensureWeights(shape, 'causal');
      L.log(`predict ${shape}: ours`);
      const p = new Predictor({ checkpoint: runDir, device: ctx.device, dtype: 'bfloat16' });
      let ours;
      try {
        const { seconds: loadS } = await L.timed(() => p.load());
        await p.predict(texts.slice(0, 8)); // warm-up
        const latency = [];
        for (let i = 0; i < st.latencyRuns; i++) latency.push((await L.timed(() => p.predict(texts[i]))).seconds);
        const { value: preds, seconds } = await L.timed(() => p.predict(texts));
        const ids = [];
        for (const t of texts) ids.push(await p.encode(t));
        ours = { loadS, latency, seconds, preds, ids };
        L.log(
          `  ours: ${(texts.length / seconds).toFixed(1)} texts/s, one text ${(L.median(latency) * 1000).toFixed(0)} ms`
        );
      } finally {
        p.dispose();
      }
      const tokens = L.sum(ours.ids.map((s) => s.length));
      const n = Math.min(st.generateTexts, texts.length);
      const gTokens = L.sum(ours.ids.slice(0, n).map((s) => s.length));
      rows.push([
        shape,
        'ours: Predictor.predict (one forward pass, 2 label logits), bfloat16',
        L.fmt(ours.loadS, 1),
        L.fmt(L.median(ours.latency) * 1000, 0),
        L.fmt(texts.length / ours.seconds, 1),
        L.fmt(tokens / ours.seconds, 0),
        `${L.fmt((ours.seconds * 1000) / texts.length, 1)} s (measured, ${texts.length} texts)`,
        '',
        '',
      ]);
      summary[shape] = {};
      for (const b of BASELINES) {
        L.log(`predict ${shape}: generation baseline (${b.key}) on ${n} texts`);
        let g;
        try {
          g = await L.runPython(
            'generate_eager.py',
            {
              model_dir: baseDir,
              adapter_dir: runDir,
              dtype: b.dtype,
              device: ctx.device,
              seqs: ours.ids.slice(0, n),
              latency: st.latencyRuns,
              batch: b.batch,
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
          );
        } catch (e) {
          rows.push([shape, `eager generation (${b.key})`, `error: ${L.errorText(e)}`]);
          continue;
        }
        const agree = g.labels.filter((l, i) => l === ours.preds[i].label).length / n;
        const close = g.margins.filter((m) => Math.abs(m) < 0.05).length;
        const speedup = texts.length / ours.seconds / (n / g.seconds);
        summary[shape][b.key] = { speedup, agreement: agree };
        rows.push([
          shape,
          `eager: ${b.label}`,
          L.fmt(g.load_s, 1),
          L.fmt(L.median(g.latency) * 1000, 0),
          L.fmt(n / g.seconds, 1),
          L.fmt(gTokens / g.seconds, 0),
          `${L.fmt((g.seconds * 1000) / n, 1)} s (extrapolated from ${n} texts)`,
          L.fmt(g.generated_tokens / n, 1),
          `${(agree * 100).toFixed(1)}% of ${n}${close ? ` (${close} with |margin| < 0.05)` : ''}`,
        ]);
      }
    } catch (e) {
      rows.push([shape, `error: ${L.errorText(e)}`]);
    }
  }
  return {
    title: 'Prediction with a lora run: one forward pass vs ten-token generation',
    summary,
    sections: [
      {
        table: {
          columns: [
            'model',
            'impl',
            'load s',
            'one text, ms (median)',
            'texts/s',
            'prompt tokens/s',
            'time for 1,000 texts',
            'tokens generated per text',
            'labels agree',
          ],
          rows,
        },
        notes: [
          `The lora run: Trainer, method lora, bf16 base, 16 posts, 1 epoch of batch 8 (2 steps) on the generated weights. ${st.predictTexts} posts sampled from train.txt (seed 13), encoded with the run's prompt (Predictor.encode gives both sides the same ids).`,
          `ours: \`new Predictor({ checkpoint, dtype: 'bfloat16' })\`, one native call for the ${st.predictTexts} texts, which the core runs in forward passes of at most 32 texts and 4,096 padded tokens by length, the prompt's keys and values computed once and reused; "one text": the first ${st.latencyRuns} posts one at a time, median, after a warm-up, on every side.`,
          'eager: bench/generate_eager.py: base weights with the adapter merged (faster than PEFT\'s unmerged adapter, which the old script ran), prefill with only the last position projected on the vocabulary (as generate does), then up to 9 cached decode steps; temperature 0.6, top-k 20, top-p 0.95 (Qwen3 generation_config); a row stops at <|im_end|>/<|endoftext|> as generate does (a batch when all its rows have). "tokens generated per text" is the mean.',
          "The goal (>= 10x) is set against the old script's way; the bfloat16 rows say how much of that comes from the dtype and from batching.",
          "labels agree: the greedy first-token label of generation (正面 vs 负面 logit at the answer position, in that row's dtype) against ours. Weights are random, so margins are small and rounding differences may flip a few; the count of |margin| < 0.05 says how many were near-ties.",
        ],
      },
    ],
  };
}

module.exports = { run };
