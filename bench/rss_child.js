// Child of the memory case: loads a run with the Predictor, predicts, and reports the process's peak RSS (VmHWM).
//   node bench/rss_child.js <runDir> <dtype> <texts.json>
'use strict';
const fs = require('fs');
const path = require('path');

function status() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`${k}:\\s*(\\d+)`)) || [])[1]) * 1024;
  return { vmHWM: kb('VmHWM'), vmRSS: kb('VmRSS') };
}

async function main() {
  const [runDir, dtype, textsFile] = process.argv.slice(2);
  const before = status();
  const { Predictor } = require(path.join(__dirname, '..', 'dist'));
  const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));
  const p = new Predictor({ checkpoint: runDir, device: 'cpu', dtype });
  await p.load();
  const afterLoad = status();
  const preds = await p.predict(texts);
  const end = status();
  p.dispose();
  process.stdout.write(`RSS_RESULT ${JSON.stringify({ before, afterLoad, end, predictions: preds.length })}\n`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
