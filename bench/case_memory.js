// Case 6b: peak resident memory of bf16 prediction with a lora run, measured in a fresh child process (VmHWM).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const L = require('./lib');

async function run(ctx) {
  const rows = [];
  const summary = {};
  const textsFile = path.join(L.WORK, 'runs', 'memory-texts.json');
  fs.mkdirSync(path.dirname(textsFile), { recursive: true });
  fs.writeFileSync(textsFile, JSON.stringify(L.samplePosts(ctx.settings.memoryTexts, 19).map((p) => p.text)));
  for (const shape of ctx.shapes) {
    try {
      const runDir = await L.ensureLoraRun(shape, ctx);
      const weights = fs.statSync(path.join(await L.ensureWeights(shape, 'causal'), 'model.safetensors')).size;
      for (const [label, env] of [
        ['default', {}],
        ['diagnostic: MALLOC_ARENA_MAX=1', { MALLOC_ARENA_MAX: '1' }],
      ]) {
        L.log(`memory ${shape}: Predictor in a child process (${label})`);
        const out = execFileSync(
          process.execPath,
          [path.join(__dirname, 'rss_child.js'), runDir, 'bfloat16', textsFile],
          { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...env } }
        );
        const line = out.split('\n').find((l) => l.startsWith('RSS_RESULT '));
        if (!line) throw new Error(`no result from rss_child.js: ${out.slice(-300)}`);
        const r = JSON.parse(line.slice('RSS_RESULT '.length));
        if (label === 'default') summary[shape] = r.end.vmHWM;
        const gb = (b) => (b / 1e9).toFixed(3);
        rows.push([
          shape,
          label,
          gb(weights),
          gb(r.before.vmRSS),
          gb(r.afterLoad.vmRSS),
          gb(r.end.vmRSS),
          gb(r.end.vmHWM),
          r.predictions,
        ]);
        L.log(`  peak RSS ${gb(r.end.vmHWM)} GB`);
      }
    } catch (e) {
      rows.push([shape, `error: ${L.errorText(e)}`]);
    }
  }
  return {
    title: 'Memory: peak RSS of bf16 prediction',
    summary,
    sections: [
      {
        table: {
          columns: [
            'model',
            'environment',
            'bf16 weights file GB',
            'RSS at start GB',
            'RSS after load GB',
            'RSS at end GB',
            'peak RSS (VmHWM) GB',
            'texts predicted',
          ],
          rows,
        },
        notes: [
          `A fresh \`node bench/rss_child.js\`: \`new Predictor({ checkpoint: <lora run>, dtype: 'bfloat16' })\`, load, predict ${ctx.settings.memoryTexts} posts, then VmHWM from /proc/self/status (the whole process: node, tokenizer, libtorch, weights, activations). GB = 10^9 bytes.`,
          "The diagnostic row runs the same child with glibc limited to one malloc arena: native calls run on several libuv worker threads, and each thread's arena keeps the memory it freed, so the default row can hold several peaks of activation memory at once. The goal applies to the default row.",
        ],
      },
    ],
  };
}

module.exports = { run };
