// Runs one benchmark case in its own process (so a native crash or a leak cannot take the whole run down):
//   node bench/child.js <case> <context.json> <result.json>
'use strict';
const fs = require('fs');

async function main() {
  const [name, ctxFile, outFile] = process.argv.slice(2);
  const ctx = JSON.parse(fs.readFileSync(ctxFile, 'utf8'));
  let out;
  if (ctx.threadsOverride) {
    // runtimeInfo() runs the addon's one-time runtime setup (threads = cores) first, so the override sticks; it is set
    // before any work, so every worker thread picks it up on its first parallel op.
    const native = require('../dist/native').loadNative();
    native.runtimeInfo();
    native.setNumThreads(ctx.threads);
  }
  try {
    const result = await require(`./case_${name}`).run(ctx);
    out = { ok: true, result };
  } catch (e) {
    out = { ok: false, error: e && e.stack ? e.stack : String(e) };
  }
  fs.writeFileSync(outFile, JSON.stringify(out));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  }
);
