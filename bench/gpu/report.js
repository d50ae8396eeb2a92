// Renders the GPU check's gpu.md and gpu.json (scripts/gpu-check.sh) from the steps' JSON files, and prints the
// one-line verdict. Tables have bench/RESULTS.md's shape, so the GPU section there can take them as they are.
//   node bench/gpu/report.js <results dir> <out dir>
'use strict';
const fs = require('fs');
const path = require('path');
const L = require('../lib');

const read = (dir, name) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
  } catch {
    return undefined;
  }
};
const cell = (v) =>
  String(v ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
function table(columns, rows) {
  return [
    `| ${columns.map(cell).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map(
      (r) => `| ${[...r, ...Array(Math.max(0, columns.length - r.length)).fill('')].map(cell).join(' | ')} |`
    ),
  ].join('\n');
}
const gb = (bytes) => (bytes === undefined || bytes === null ? '–' : (bytes / 1e9).toFixed(2));
const tps = (r) => (r && r.times && r.times.length ? L.sum(r.tokens) / L.sum(r.times) : undefined);
const problem = (r) => (!r ? 'did not run' : r.error ? `error: ${r.error}` : r.skipped ? `skipped: ${r.skipped}` : '');

function trainSection(bench, peak, goals) {
  const rows = [];
  const c = bench.weights && bench.weights.config;
  for (const [method, r] of Object.entries(bench.train || {})) {
    const ours = r.ours && r.ours.random;
    const o = tps(ours);
    const h = tps(r.hf);
    const flops = (side) => (side && side.times && c ? 2 * L.forwardFlops(c, side.lengths || []) : undefined);
    for (const [impl, side, t] of [
      ['ours, same batches', ours, o],
      ['ours, length-bucketed batches (Trainer)', r.ours && r.ours.bucketed, tps(r.ours && r.ours.bucketed)],
      ['transformers + PEFT', r.hf, h],
    ]) {
      const p = impl.startsWith('transformers') ? problem(r.hf) : problem(r.ours);
      if (p) {
        rows.push([bench.shape, method, impl, p]);
        continue;
      }
      const mem = impl.startsWith('transformers') ? r.hf.gpu : impl.includes('same') ? r.ours.gpu : undefined;
      // Model FLOPs of a LoRA step: the frozen base runs forward and the activation-gradient half of backward, 2 x
      // (2 x non-embedding parameters x tokens + attention); the same count on both sides (real tokens only).
      const mfu = peak && t && c ? (t * 2 * (2 * L.nonEmbeddingParams(c))) / (peak * 1e9) : undefined;
      rows.push([
        bench.shape,
        method,
        impl,
        side.times.length,
        L.fmt((1000 * L.sum(side.times)) / side.times.length, 1),
        L.fmt(t, 0),
        impl === 'ours, same batches' && h ? L.ratio(o / h) : '',
        mem ? gb(mem.peakAllocated) : '',
        mem ? gb(mem.peakReserved) : '',
        L.pct(mfu),
      ]);
    }
    if (o && h)
      goals.push([
        `GPU train ${method}: ours / transformers + PEFT tokens/s, same batches`,
        L.ratio(o / h),
        '>= 1.5x',
        o / h >= 1.5,
      ]);
    const om = r.ours && r.ours.gpu && r.ours.gpu.peakAllocated;
    const hm = r.hf && r.hf.gpu && r.hf.gpu.peakAllocated;
    if (om && hm)
      goals.push([
        `GPU train ${method}: peak GPU memory ours / theirs`,
        `${gb(om)} / ${gb(hm)} GB`,
        '<= theirs',
        om <= hm,
      ]);
  }
  return {
    title: 'Training step: forward + backward + AdamW',
    table: table(
      [
        'model',
        'method',
        'impl',
        'steps',
        'ms/step',
        'tokens/s',
        'ours/theirs',
        'peak GPU GB (allocated)',
        'peak GPU GB (reserved)',
        'MFU',
      ],
      rows
    ),
    notes: [
      `${bench.settings.trainPosts} posts (seed 5) from ${path.basename(bench.data)}, encoded as the Trainer encodes them; batches of ${bench.settings.trainBatch}, ${bench.settings.trainWarmup} warm-up then ${bench.settings.trainSteps} measured steps; "same batches": identical random batches on both sides; tokens/s counts real tokens.`,
      "LoRA r 8, alpha 16, dropout 0.05 on q/k/v/o, fp32 adapters over a bf16 base; AdamW lr 2e-4, weight decay 0.01, clip 1.0. transformers + PEFT: get_peft_model, the model's own loss (lora: labels -100 except the 2 answer tokens; lora-head: SEQ_CLS with its score head), right padding, torch AdamW fused.",
      "peak GPU: the CUDA caching allocator's peaks in the process that ran the side, from start (weights included): torch.cuda.max_memory_allocated / max_memory_reserved, and the same counters read through the addon (cudaMemory). GB = 10^9 bytes.",
      'MFU: 2 x (2 x non-embedding parameters) FLOPs per real token (forward + the activation-gradient half of backward; the frozen base has no weight gradients), over the measured bf16 matmul rate (roofline row). Attention FLOPs are left out, so this is a slight undercount on both sides.',
    ],
  };
}

function forwardSection(bench, peak, goals) {
  const f = bench.forward;
  if (!f) return undefined;
  const c = bench.weights.config;
  const flops = L.forwardFlops(c, f.lengths);
  const rows = [];
  const o = tps(f.ours);
  const h = tps(f.hf);
  for (const [impl, side, t] of [
    ['ours: Qwen3Model.embed', f.ours, o],
    ['transformers: model.model(...)', f.hf, h],
  ]) {
    const p = problem(side);
    if (p) {
      rows.push([bench.shape, impl, p]);
      continue;
    }
    const s = L.sum(side.times);
    rows.push([
      bench.shape,
      impl,
      L.fmt(L.sum(side.tokens), 0),
      L.fmt(s, 3),
      L.fmt(t, 0),
      side === f.ours && h ? L.ratio(o / h) : '',
      L.pct(peak ? flops / s / 1e9 / peak : undefined),
      side.gpu ? gb(side.gpu.peakAllocated) : '',
    ]);
  }
  if (o && h) goals.push(['GPU forward bf16: ours / transformers tokens/s', L.ratio(o / h), '>= 1x', o / h >= 1]);
  return {
    title: 'Forward: hidden states of every token (bf16)',
    table: table(
      ['model', 'impl', 'real tokens', 'seconds', 'tokens/s', 'ours/theirs', 'MFU', 'peak GPU GB (allocated)'],
      rows
    ),
    notes: [
      `${f.lengths.length} posts (seed 11), sorted by length, batches of ${bench.settings.forwardBatch} (${L.fmt(f.padded, 0)} padded tokens for ${L.fmt(L.sum(f.lengths), 0)} real); both sides get the same left-padded batches after the same warm-up. MFU: forward FLOPs (2 x non-embedding parameters x tokens + attention) over the measured bf16 matmul rate.`,
    ],
  };
}

function predictSection(bench, goals) {
  const p = bench.predict;
  if (!p) return undefined;
  const rows = [];
  if (problem(p.ours) || p.error)
    return {
      title: 'Prediction',
      table: table(['model', 'impl', 'result'], [[bench.shape, 'ours', p.error || problem(p.ours)]]),
      notes: [],
    };
  const oursRate = p.texts / p.ours.seconds;
  rows.push([
    bench.shape,
    'ours: Predictor.predict (one forward pass, 2 label logits), bfloat16',
    L.fmt(L.median(p.ours.latency) * 1000, 1),
    L.fmt(oursRate, 1),
    '',
    '',
    gb(p.ours.gpu && p.ours.gpu.peakAllocated),
  ]);
  for (const [key, g] of Object.entries(p.generation || {})) {
    const why = problem(g);
    if (why) {
      rows.push([bench.shape, `transformers + PEFT generate: ${g.label}`, why]);
      continue;
    }
    const rate = g.texts / g.seconds;
    rows.push([
      bench.shape,
      `transformers + PEFT generate: ${g.label}`,
      L.fmt(L.median(g.latency) * 1000, 1),
      L.fmt(rate, 1),
      L.ratio(oursRate / rate),
      `${(100 * g.agree).toFixed(1)}% of ${g.texts}`,
      gb(g.gpu && g.gpu.peakAllocated),
    ]);
    if (key === 'old')
      goals.push([
        "GPU predict: ours / their generation (the old script's way), texts/s",
        L.ratio(oursRate / rate),
        '>= 10x',
        oursRate / rate >= 10,
      ]);
  }
  return {
    title: 'Prediction with a lora run: one forward pass vs generation',
    table: table(
      ['model', 'impl', 'one text, ms (median)', 'texts/s', 'ours/theirs', 'labels agree', 'peak GPU GB (allocated)'],
      rows
    ),
    notes: [
      `The lora run: Trainer, bf16 base, 16 posts, 2 steps, on the device. ${p.texts} posts (seed 13) for ours; generation on the first texts of them, the same token ids (Predictor.encode). Labels agree: the larger label-token logit at generation's first position (output_logits) against ours; weights are random, so near-ties may flip.`,
    ],
  };
}

function main() {
  const [dir, outDir] = process.argv.slice(2);
  const steps = read(dir, 'steps.json') || [];
  const env = read(dir, 'env.json') || {};
  const numerics = read(dir, 'numerics.json');
  const interop = read(dir, 'interop.json');
  const hf = read(dir, 'hf_interop.json');
  const bench = read(dir, 'bench.json');
  if (bench && bench.settings === undefined) bench.settings = {};
  const peak =
    bench && bench.roofline && bench.roofline.rows ? Math.max(...bench.roofline.rows.map((r) => r.gflops)) : undefined;
  const goals = [];
  const out = [`# qwen3-native GPU check${env.dryRun ? ' (dry run on the CPU)' : ''}`, ''];
  out.push(
    `Generated by \`scripts/gpu-check.sh${env.dryRun ? ' --dry-run' : ''}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    ''
  );
  out.push(
    '## Machine',
    '',
    table(
      ['', ''],
      Object.entries(env).filter(([k]) => k !== 'dryRun')
    ),
    ''
  );
  out.push(
    '## Steps',
    '',
    table(
      ['step', 'status', 'seconds', 'limit s'],
      steps.map((s) => [s.name, s.status, s.seconds, s.limit])
    ),
    ''
  );

  const numericRows = numerics
    ? numerics.checks.map((c) => [
        c.name,
        c.ok ? 'ok' : 'FAIL',
        c.error || (typeof c.value === 'number' ? c.value.toExponential(2) : c.value),
        c.tolerance ?? '',
      ])
    : [];
  out.push('## Numerics on the device', '');
  out.push(
    numerics
      ? `${numerics.passed}/${numerics.passed + numerics.failed} checks passed on ${numerics.device}.`
      : 'Did not run.',
    ''
  );
  if (numerics) out.push(table(['check', 'result', 'value', 'tolerance'], numericRows), '');
  out.push(
    '- float32: logits and hidden states within 1e-4, embeddings within 1e-5 of the float64 goldens (the CPU tolerances); bfloat16/float16: logits within 0.3, embeddings within 2e-2 (test/fixtures/README.md: bf16 compute needs about 0.25 and 2e-2). PEFT fixtures: probabilities within 1e-5. Gradients: within 1e-5 + 1e-3 x max|g| per tensor (the value is the share of that allowance used). "vs cpu": the same code on the CPU in the same process.',
    ''
  );

  out.push('## Runs trained on the CPU, read by Hugging Face', '');
  const interRows = [];
  for (const r of (interop && interop.runs) || []) {
    const h = hf && hf.runs ? hf.runs.find((x) => x.method === r.method) : undefined;
    interRows.push([
      r.method,
      r.error
        ? `error: ${r.error}`
        : `${r.float32.maxProbDiff.toExponential(2)} / ${(100 * r.float32.agree).toFixed(1)}%`,
      r.error ? '' : `${r.bfloat16.maxProbDiff.toExponential(2)} / ${(100 * r.bfloat16.agree).toFixed(1)}%`,
      !hf
        ? 'did not run'
        : hf.skipped
          ? `skipped: ${hf.skipped}`
          : !h
            ? '–'
            : h.error
              ? `error: ${h.error}`
              : `${h.maxProbDiff.toExponential(2)} / ${(100 * h.agree).toFixed(1)}%`,
    ]);
  }
  out.push(
    table(
      [
        'method',
        `Predictor ${interop ? interop.device : ''} float32 vs cpu: max |dp| / labels agree`,
        'bfloat16 vs cpu float32',
        `transformers ${hf && hf.transformers ? hf.transformers : ''} + PEFT ${hf && hf.peft ? hf.peft : ''} vs ours`,
      ],
      interRows
    ),
    ''
  );
  out.push(
    `- Each run: Trainer on the CPU (float32, tiny random Qwen3, ${interop ? interop.samples : '?'} posts of data/weibo_sample.txt, 1 epoch), predictions on data/weibo_sample_test.txt. HF side: PeftModel.from_pretrained over AutoModelForCausalLM (lora) / AutoModelForSequenceClassification (lora-head), AutoModelForSequenceClassification.from_pretrained(run) (full), float32, one text at a time.`,
    ''
  );

  if (bench) {
    out.push(`## Benchmark at ${bench.shape} shape on ${bench.device}`, '');
    if (bench.roofline && bench.roofline.rows)
      out.push(
        table(
          ['dtype', 'M x K x N', 'measured GFLOPS'],
          bench.roofline.rows.map((r) => [r.dtype, `${r.m} x ${r.k} x ${r.n}`, L.fmt(r.gflops, 0)])
        ),
        '',
        `The fastest row (${L.fmt(peak, 0)} GFLOPS) is the rate MFU is taken against.`,
        ''
      );
    else out.push(`Matmul rate: ${problem(bench.roofline)}`, '');
    if (bench.weights && bench.weights.error) out.push(`Weights: ${problem(bench.weights)}`, '');
    for (const s of [
      trainSection(bench, peak, goals),
      forwardSection(bench, peak, goals),
      predictSection(bench, goals),
    ]) {
      if (!s) continue;
      out.push(`### ${s.title}`, '', s.table, '', ...s.notes.map((n) => `- ${n}`), '');
    }
  }
  const numericsOk = numerics && numerics.failed === 0;
  const interopOk = interop && interop.runs.every((r) => !r.error && r.float32.maxProbDiff <= 1e-4);
  const hfOk = hf && (hf.skipped || (hf.runs && hf.runs.every((r) => !r.error && r.maxProbDiff <= 1e-4)));
  goals.unshift(
    [
      'numerics on the device',
      numerics ? `${numerics.passed}/${numerics.passed + numerics.failed}` : 'did not run',
      'all',
      !!numericsOk,
    ],
    [
      'CPU-trained runs: device Predictor agrees with the CPU (float32, |dp| <= 1e-4)',
      interop ? `${interop.runs.filter((r) => !r.error).length}/${interop.runs.length} runs` : 'did not run',
      'all',
      !!interopOk,
    ],
    [
      'CPU-trained runs read by transformers + PEFT (|dp| <= 1e-4)',
      !hf
        ? 'did not run'
        : hf.skipped
          ? `skipped: ${hf.skipped}`
          : `${hf.runs.filter((r) => !r.error && r.maxProbDiff <= 1e-4).length}/${hf.runs.length}`,
      'all',
      hf && hf.skipped ? undefined : !!hfOk,
    ]
  );
  out.splice(
    out.indexOf('## Steps'),
    0,
    '## Against the goals',
    '',
    table(
      ['measure', 'value', 'goal', ''],
      goals.map(([a, b, c, ok]) => [a, b, c, ok === undefined ? '–' : ok ? 'met' : 'NOT met'])
    ),
    ''
  );
  fs.writeFileSync(path.join(outDir, 'gpu.md'), out.join('\n'));
  fs.writeFileSync(
    path.join(outDir, 'gpu.json'),
    JSON.stringify({ env, steps, numerics, interop, hf, bench, goals }, null, 1)
  );
  // What a later reader gets back: both files there and whole.
  const back = JSON.parse(fs.readFileSync(path.join(outDir, 'gpu.json'), 'utf8'));
  const md = fs.readFileSync(path.join(outDir, 'gpu.md'), 'utf8');
  const written = back.goals.length === goals.length && md.includes('## Against the goals') && md.includes('## Steps');
  const failedSteps = steps.filter((s) => s.status !== 'ok' && s.status !== 'skipped');
  const pass = written && numericsOk && interopOk && hfOk !== false && failedSteps.length === 0;
  const met = goals.filter((g) => g[3] === true).length;
  const judged = goals.filter((g) => g[3] !== undefined).length;
  console.log(
    `GPU CHECK${env.dryRun ? ' (dry run)' : ''}: ${pass ? 'PASS' : 'FAIL'}: numerics ${numerics ? `${numerics.passed}/${numerics.passed + numerics.failed}` : 'not run'}, goals met ${met}/${judged}` +
      (failedSteps.length ? `, failed steps: ${failedSteps.map((s) => `${s.name} (${s.status})`).join(', ')}` : '') +
      `; ${path.join(outDir, 'gpu.md')}`
  );
  process.exitCode = pass ? 0 : 1;
}

main();
