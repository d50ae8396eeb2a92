// Case 4: prediction with a lora run (Predictor: one forward pass, label-token logits at the answer position)
// against ten-token sampled generation with a KV cache on the same weights (bench/generate_eager.py), and whether
// the greedy first-token label of generation agrees with ours.
'use strict';
const L = require('./lib');

async function run(ctx) {
  const st = ctx.settings;
  const { Predictor } = L.dist('predictor');
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
        L.log(`  ours: ${(texts.length / seconds).toFixed(1)} texts/s, one text ${(L.median(latency) * 1000).toFixed(0)} ms`);
      } finally {
        p.dispose();
      }
      const tokens = L.sum(ours.ids.map((s) => s.length));
      const n = Math.min(st.generateTexts, texts.length);
      rows.push([shape, 'ours: Predictor.predict (one forward pass, 2 label logits)', L.fmt(ours.loadS, 1), L.fmt(L.median(ours.latency) * 1000, 0), L.fmt(texts.length / ours.seconds, 1), L.fmt(tokens / ours.seconds, 0), `${L.fmt(ours.seconds * 1000 / texts.length, 1)} s (measured, ${texts.length} texts)`, '']);
      L.log(`predict ${shape}: generation baseline on ${n} texts`);
      let g;
      try {
        g = await L.runPython('generate_eager.py', {
          model_dir: baseDir, adapter_dir: runDir, dtype: 'bfloat16', device: ctx.device, seqs: ours.ids.slice(0, n),
          latency: st.latencyRuns, batch: 16, max_new_tokens: 10, temperature: 0.6, top_k: 20, top_p: 0.95, seed: 0,
          label_tokens: L.LABEL_TOKENS, eos: [L.END_TOKEN, L.PAD_ID], pad_id: L.PAD_ID,
        }, ctx);
      } catch (e) {
        rows.push([shape, 'eager generation', `error: ${L.errorText(e)}`]);
        continue;
      }
      const agree = g.labels.filter((l, i) => l === ours.preds[i].label).length / n;
      const close = g.margins.filter((m) => Math.abs(m) < 0.05).length;
      const gTokens = L.sum(ours.ids.slice(0, n).map((s) => s.length));
      const speedup = (texts.length / ours.seconds) / (n / g.seconds);
      summary[shape] = { speedup, agreement: agree };
      rows.push([shape, `eager: sampled generation, 10 new tokens, KV cache, batches of 16 (${g.generated_tokens} tokens generated)`, L.fmt(g.load_s, 1), L.fmt(L.median(g.latency) * 1000, 0), L.fmt(n / g.seconds, 1), L.fmt(gTokens / g.seconds, 0), `${L.fmt(g.seconds * 1000 / n, 1)} s (extrapolated from ${n} texts)`, `${(agree * 100).toFixed(1)}% of ${n}${close ? ` (${close} with |margin| < 0.05)` : ''}`]);
    } catch (e) {
      rows.push([shape, `error: ${L.errorText(e)}`]);
    }
  }
  return {
    title: 'Prediction with a lora run: one forward pass vs ten-token generation',
    summary,
    sections: [
      {
        table: { columns: ['model', 'impl', 'load s', 'one text, ms (median)', 'texts/s', 'prompt tokens/s', 'time for 1,000 texts', 'labels agree'], rows },
        notes: [
          `The lora run: Trainer, method lora, bf16 base, 16 posts, 1 epoch of batch 8 (2 steps) on the generated weights. ${st.predictTexts} posts sampled from train.txt (seed 13), encoded with the run's prompt (Predictor.encode gives both sides the same ids).`,
          `ours: \`new Predictor({ checkpoint, dtype: 'bfloat16' })\`, batches of 32 by length; "one text": the first ${st.latencyRuns} posts one at a time, median, after a warm-up, on both sides.`,
          'eager: bench/generate_eager.py: base weights with the adapter merged, prefill with only the last position projected on the vocabulary (as generate does), then 9 cached decode steps; temperature 0.6, top-k 20, top-p 0.95 (Qwen3 generation_config); stops early only if every row emits <|im_end|>/<|endoftext|>.',
          'labels agree: the greedy first-token label of generation (正面 vs 负面 logit at the answer position, bf16) against ours. Weights are random, so margins are small and bf16 rounding differences may flip a few; the count of |margin| < 0.05 says how many were near-ties.',
        ],
      },
    ],
  };
}

module.exports = { run };
