// Case 2: the matmul roofline (Python torch F.linear, same libtorch as the addon) in float32 and bfloat16.
'use strict';
const L = require('./lib');

function shapes(ctx) {
  if (ctx.quick)
    return [
      [256, 1024, 3072],
      [1024, 1024, 1024],
    ];
  // The model's own products for a batch of ~1,000 tokens (q/gate/up, down), and a large square one.
  return [
    [1024, 1024, 2048],
    [1024, 1024, 3072],
    [1024, 3072, 1024],
    [4096, 4096, 4096],
  ];
}

async function measure(ctx) {
  L.log('roofline: timing F.linear');
  return L.runPython(
    'roofline.py',
    { device: ctx.device, dtypes: ['float32', 'bfloat16'], shapes: shapes(ctx), min_seconds: ctx.quick ? 0.3 : 1.5 },
    ctx
  );
}

/** GFLOPS peak per dtype: from this run's roofline case when it ran, measured now otherwise. */
async function roofline(ctx) {
  let r = ctx.previous && ctx.previous.roofline && ctx.previous.roofline.data;
  if (!r) r = await measure(ctx);
  const peak = {};
  for (const row of r.rows) peak[row.dtype] = Math.max(peak[row.dtype] || 0, row.gflops);
  return peak;
}

async function run(ctx) {
  const r = await measure(ctx);
  const peak = {};
  for (const row of r.rows) peak[row.dtype] = Math.max(peak[row.dtype] || 0, row.gflops);
  return {
    title: 'Matmul roofline',
    data: r,
    summary: peak,
    sections: [
      {
        table: {
          columns: ['dtype', 'x [M x K]', 'W [N x K]', 'GFLOPS'],
          rows: r.rows.map((x) => [x.dtype, `${x.m} x ${x.k}`, `${x.n} x ${x.k}`, L.fmt(x.gflops, 1)]),
        },
        notes: [
          `torch.nn.functional.linear(x, W) (x @ W^T, the layout of every Qwen3 projection) with torch ${r.torch}, ${r.threads} threads; one warm-up call, then repeated for at least ${ctx.quick ? 0.3 : 1.5} s. FLOPs = 2 M K N.`,
          `Roofline used for "% of roofline" elsewhere: the fastest row of each dtype (${Object.entries(peak)
            .map(([d, g]) => `${d} ${g.toFixed(0)} GFLOPS`)
            .join(', ')}).`,
        ],
      },
    ],
  };
}

module.exports = { run, roofline };
