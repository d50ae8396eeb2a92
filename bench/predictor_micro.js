#!/usr/bin/env node
// Predictor throughput alone: texts/s of Predictor.predict on N weibo2018 posts in one call, on the bench's lora runs
// (random weights of the tiny and 0.6B shapes, bench/lib.js), and the process's peak RSS. One process per shape, so
// the peak belongs to that shape alone. Prints a markdown table; --json appends the rows to a file.
//   node bench/predictor_micro.js [--shapes tiny,0.6B] [--texts 1000,10000] [--texts-0.6B 1000] [--runs 5]
//                                 [--label before] [--json out.jsonl]
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const L = require('./lib');

function parseArgs(argv) {
  const a = { shapes: ['tiny', '0.6B'], texts: [1000, 10000], texts06: [1000], runs: 5, label: '', json: undefined };
  const list = (s) =>
    String(s || '')
      .split(',')
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--shapes') a.shapes = list(argv[++i]);
    else if (x === '--texts') a.texts = list(argv[++i]).map(Number);
    else if (x === '--texts-0.6B') a.texts06 = list(argv[++i]).map(Number);
    else if (x === '--runs') a.runs = Number(argv[++i]);
    else if (x === '--label') a.label = argv[++i];
    else if (x === '--json') a.json = path.resolve(argv[++i]);
    else if (x === '--child') a.child = argv[++i];
    else throw new Error(`unknown option ${x}`);
  }
  return a;
}

function peakRss() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  return Number((s.match(/VmHWM:\s*(\d+)/) || [])[1]) * 1024;
}

/** In the child: one shape, every size, the median of `runs` timed calls after a warm-up. */
async function measure(shape, sizes, runs) {
  const { Predictor } = L.dist('index');
  const runDir = await L.ensureLoraRun(shape, { device: 'cpu' });
  const p = new Predictor({ checkpoint: runDir, device: 'cpu', dtype: 'bfloat16' });
  const rows = [];
  try {
    await p.load();
    await p.predict(L.samplePosts(8, 5).map((x) => x.text));
    for (const n of sizes) {
      const texts = L.samplePosts(n, 13).map((x) => x.text);
      const seconds = [];
      // The 0.6B shape runs one call per size: a second of 10,000 posts would cost as long again.
      for (let r = 0; r < (shape === 'tiny' ? runs : 1); r++)
        seconds.push((await L.timed(() => p.predict(texts))).seconds);
      const s = L.median(seconds);
      rows.push({
        shape,
        texts: texts.length,
        seconds: s,
        best: Math.min(...seconds),
        all: seconds,
        textsPerS: texts.length / s,
        peakRss: peakRss(),
      });
    }
  } finally {
    p.dispose();
  }
  return rows;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.child) {
    const { shape, sizes, runs } = JSON.parse(a.child);
    process.stdout.write(`MICRO_RESULT ${JSON.stringify(await measure(shape, sizes, runs))}\n`);
    return;
  }
  const rows = [];
  for (const shape of a.shapes) {
    // Weights and the lora run are made here first, so the child's peak RSS holds no training.
    await L.ensureLoraRun(shape, { device: 'cpu' });
    const sizes = shape === 'tiny' ? a.texts : a.texts06;
    const child = spawnSync(process.execPath, [__filename, '--child', JSON.stringify({ shape, sizes, runs: a.runs })], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    });
    const line = (child.stdout || '').split('\n').find((l) => l.startsWith('MICRO_RESULT '));
    if (!line) throw new Error(`the ${shape} child failed (exit ${child.status})`);
    rows.push(...JSON.parse(line.slice('MICRO_RESULT '.length)));
  }
  const when = new Date().toISOString().replace('T', ' ').slice(0, 16);
  console.log(`\nPredictor.predict, one call, bf16, ${when} UTC${a.label ? `, ${a.label}` : ''}\n`);
  // Median and best of the runs: other work on a shared machine only ever slows a run down.
  console.log('| model | texts | runs | seconds (median) | texts/s (median) | texts/s (best) | peak RSS GB |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.shape} | ${r.texts} | ${r.all.length} | ${r.seconds.toFixed(2)} | ${r.textsPerS.toFixed(1)} | ` +
        `${(r.texts / r.best).toFixed(1)} | ${(r.peakRss / 1e9).toFixed(3)} |`
    );
  if (a.json) fs.appendFileSync(a.json, `${JSON.stringify({ label: a.label, when, rows })}\n`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
