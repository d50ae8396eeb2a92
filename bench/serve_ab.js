#!/usr/bin/env node
// Two builds of the package serving under the serve case's load (case_serve.js: 64 clients, one Weibo post per
// request, the tiny lora run, --threads 1, every other flag the default), with rounds alternating between them so
// that the machine's other load falls on both alike. For before/after comparisons of a change: the baseline is
// another checkout of the package with its dist/ and addon built.
//   node bench/serve_ab.js <baseline package root> [--rounds 5] [--requests 20000]
'use strict';
const path = require('path');
const L = require('./lib');
const { tinyRun, Subject, CONNECTIONS, DISTINCT_POSTS } = require('./case_serve');

async function main() {
  const args = process.argv.slice(2);
  const baseline = path.resolve(args[0] || '');
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : Number(args[i + 1]);
  };
  const rounds = option('--rounds', 5);
  const requests = option('--requests', 20000);
  const runDir = await tinyRun();
  const bodies = L.samplePosts(DISTINCT_POSTS, 29).map((p) => JSON.stringify({ text: p.text }));
  const flags = ['--threads', '1'];
  const subjects = [
    new Subject(`baseline (${baseline})`, flags, path.join(baseline, 'dist', 'cli', 'main.js')),
    new Subject(`this tree (${L.ROOT})`, flags),
  ];
  try {
    for (const s of subjects) await s.start(runDir, bodies, 2000);
    for (let i = 0; i < rounds; i++) {
      L.log(`serve A/B: round ${i + 1} of ${rounds}`);
      // Each round starts with the other server, so neither always follows the same one.
      for (const s of i % 2 ? [...subjects].reverse() : subjects) await s.round(bodies, requests, false);
    }
    for (const s of subjects) await s.finish();
  } finally {
    for (const s of subjects) s.server?.kill();
  }
  console.log(`\n${CONNECTIONS} clients, ${rounds} rounds of ${requests} requests each, ${new Date().toISOString()}\n`);
  console.log('| server | requests | errors | requests/s | per round | p50 ms | p99 ms | texts per model call |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const s of subjects)
    console.log(
      `| ${s.name} | ${s.n} | ${s.errors} | ${s.rps.toFixed(0)} | ${s.rounds.map((r) => r.toFixed(0)).join(', ')} | ` +
        `${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.textsPerCall.toFixed(1)} |`
    );
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
