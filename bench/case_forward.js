// Case 1 (+2): forward tokens/s over batches of Weibo posts, ours (Qwen3Model.embed with ids, normalize false: every
// layer for every token, final norm) against the PyTorch eager HF Qwen3 (bench/qwen3_eager.py) on the same
// weights, padded batches and dtype; model FLOP utilisation relative to the measured matmul roofline.
'use strict';
const L = require('./lib');
const { roofline } = require('./case_roofline');

/** Posts sampled from train.txt, tokenized, truncated to 256 tokens, cut into length-bucketed batches. */
async function postBatches(ctx) {
  const { Qwen3Tokenizer } = L.dist('index');
  const tok = await Qwen3Tokenizer.bundled();
  const n = ctx.settings.forwardPosts;
  const posts = L.samplePosts(n + ctx.settings.forwardBatch, 11);
  const ids = (await tok.encodeBatch(posts.map((p) => p.text))).map((s) => (s.length ? s.slice(0, 256) : [L.PAD_ID]));
  const warm = ids.slice(n);
  // One full batch, then small ones: the first calls pay for thread, allocator and kernel setup; every side gets the
  // same warm-up.
  const small = [warm[0].slice(0, 8), warm[1].slice(0, 8)];
  return {
    batches: L.bucketed(ids.slice(0, n), ctx.settings.forwardBatch),
    warmup: [warm, small, small, small, small],
  };
}

async function ours(dir, dtype, data, ctx) {
  const { Qwen3Model } = L.dist('index');
  const { value: model, seconds: loadS } = await L.timed(() => Qwen3Model.load(dir, { device: ctx.device, dtype }));
  try {
    const opts = { normalize: false, batchSize: 1024 };
    for (const b of data.warmup) await model.embed(b, opts);
    const times = [];
    const tokens = [];
    let first;
    for (const [i, b] of data.batches.entries()) {
      const runs = [];
      let value;
      for (let r = 0; r < data.repeats; r++) {
        const t = await L.timed(() => model.embed(b, opts));
        runs.push(t.seconds);
        value = t.value;
      }
      // The median run stands for all of them: a scheduler hiccup on this shared machine would otherwise dominate
      // batches that take milliseconds.
      const seconds = L.median(runs) * data.repeats;
      times.push(seconds);
      tokens.push(L.sum(b.map((s) => s.length)) * data.repeats);
      if (i === 0) first = value.map((v) => Array.from(v));
      L.log(
        `  ours  ${dtype} batch ${i + 1}/${data.batches.length}: ${b.length}x${b[b.length - 1].length}, ${(tokens[i] / seconds).toFixed(0)} tokens/s`
      );
    }
    return { loadS, times, tokens, first };
  } finally {
    model.dispose();
  }
}

function maxRelDiff(a, b) {
  if (!a || !b) return NaN;
  let diff = 0;
  let scale = 0;
  a.forEach((row, i) =>
    row.forEach((x, j) => {
      diff = Math.max(diff, Math.abs(x - b[i][j]));
      scale = Math.max(scale, Math.abs(b[i][j]));
    })
  );
  return diff / scale;
}

async function run(ctx) {
  const rl = await roofline(ctx);
  const data = await postBatches(ctx);
  const lengths = data.batches.flat().map((s) => s.length);
  const padded = L.sum(data.batches.map((b) => b.length * b[b.length - 1].length));
  const rows = [];
  const summary = {};
  for (const shape of ctx.shapes) {
    let dir;
    try {
      dir = await L.ensureWeights(shape, 'causal');
    } catch (e) {
      rows.push([shape, '', 'weights', L.errorText(e)]);
      continue;
    }
    const cfg = { ...L.SHAPES[shape], ...L.modelConfig(dir) };
    // Small models run each batch many times, so that the timing is not a few milliseconds.
    data.repeats = shape === 'tiny' ? 30 : 1;
    const flops = L.forwardFlops(cfg, lengths) * data.repeats;
    for (const dtype of ctx.settings.forwardDtypes) {
      const peak = rl[dtype];
      const result = {};
      for (const impl of ['ours', 'eager']) {
        try {
          L.log(`forward ${shape} ${dtype} ${impl}`);
          const r =
            impl === 'ours'
              ? await ours(dir, dtype, data, ctx)
              : await L.runPython(
                  'qwen3_eager.py',
                  {
                    model_dir: dir,
                    dtype,
                    device: ctx.device,
                    warmup_batches: data.warmup,
                    batches: data.batches,
                    repeats: data.repeats,
                    pad_id: L.PAD_ID,
                  },
                  ctx
                );
          result[impl] = r;
        } catch (e) {
          result[impl] = { error: L.errorText(e) };
        }
      }
      const agreement = maxRelDiff(result.ours.first, result.eager.first_last_hidden);
      for (const impl of ['ours', 'eager']) {
        const r = result[impl];
        if (r.error) {
          rows.push([shape, dtype, impl, `error: ${r.error}`]);
          continue;
        }
        const seconds = L.sum(r.times);
        const tps = L.sum(r.tokens) / seconds;
        const gflops = flops / seconds / 1e9;
        const other = result[impl === 'ours' ? 'eager' : 'ours'];
        const vs = impl === 'ours' && !other.error ? tps / (L.sum(other.tokens) / L.sum(other.times)) : undefined;
        summary[`${shape}/${dtype}/${impl}`] = {
          tokensPerSecond: tps,
          gflops,
          roofline: peak ? gflops / peak : undefined,
          ratio: vs,
        };
        rows.push([
          shape,
          dtype,
          impl,
          `${L.fmt(L.sum(r.tokens) / data.repeats, 0)}${data.repeats > 1 ? ` x ${data.repeats}` : ''}`,
          L.fmt(seconds, 2),
          L.fmt(tps, 0),
          impl === 'ours' ? L.ratio(vs) : '',
          L.fmt(gflops, 1),
          peak ? L.pct(gflops / peak) : '–',
          L.fmt(r.load_s ?? r.loadS, 1),
          impl === 'ours'
            ? Number.isNaN(agreement)
              ? '–'
              : agreement === 0
                ? '0 (bit-identical)'
                : agreement.toExponential(1)
            : '',
        ]);
      }
    }
  }
  const bs = ctx.settings.forwardBatch;
  return {
    title: 'Forward: hidden states of every token of Weibo posts',
    summary,
    sections: [
      {
        table: {
          columns: [
            'model',
            'dtype',
            'impl',
            'real tokens',
            'seconds',
            'tokens/s',
            'ours/eager',
            'model GFLOPS',
            '% of matmul roofline',
            'load s',
            'max rel. diff vs eager',
          ],
          rows,
        },
        notes: [
          `${lengths.length} posts sampled from train.txt (seed 11), tokenized with the Qwen3 tokenizer (mean ${(L.sum(lengths) / lengths.length).toFixed(1)}, median ${L.median(lengths)}, max ${Math.max(...lengths)} tokens), sorted by length and cut into ${data.batches.length} batches of ${bs}; both sides get the same left-padded batches (${L.fmt(padded, 0)} padded tokens for ${L.fmt(L.sum(lengths), 0)} real): eager (as HF) runs every layer on the padding too; ours runs projections, norms and the MLP on the real tokens only and pads just inside attention. Warm-up first: a batch of ${bs} other posts, then 4 small batches. On the tiny model every batch is run 30 times on each side and its time is the median run x 30 ("x 30").`,
          'ours: `Qwen3Model.embed(ids, { normalize: false })` (all layers for every token, final norm, last token returned). eager: bench/qwen3_eager.py, HF modeling_qwen3 math with eager attention, `torch.inference_mode()`, same threads. Both load the same generated bf16 checkpoint and cast to the dtype.',
          'model GFLOPS = (2 x non-embedding parameters x real tokens + 4 x heads x head_dim x L^2 x layers per post) / time; the roofline is the fastest `F.linear` of the same dtype in the roofline table.',
          'max rel. diff: largest |ours - eager| over the last-token hidden states of the first batch, divided by the largest |eager| value.',
        ],
      },
    ],
  };
}

module.exports = { run };
