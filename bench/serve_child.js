// Controls for the serve case's RSS curve, each in a fresh process:
//   node bench/serve_child.js predictor <runDir> <texts.json> <count> <threads>
//     the Predictor alone (no HTTP): <count> texts in calls of 1..64 texts (seeded), as the server's batches vary;
//     prints RSS_SAMPLE {"texts","rss"} every 10,000 texts
//   node bench/serve_child.js http
//     the server with a stand-in model that answers at once (the HTTP side alone); prints its address
'use strict';
const fs = require('fs');
const path = require('path');
const L = require('./lib');

const rss = () => Number((fs.readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s*(\d+)/) || [])[1]) * 1024;

async function predictor(runDir, textsFile, count, threads) {
  const native = require(path.join(L.ROOT, 'dist', 'native')).loadNative();
  native.runtimeInfo();
  native.setNumThreads(threads);
  const { Predictor } = L.dist('index');
  const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));
  const p = new Predictor({ checkpoint: runDir });
  await p.load();
  process.stdout.write(`RSS_SAMPLE ${JSON.stringify({ texts: 0, rss: rss() })}\n`);
  const random = L.rng(5);
  let done = 0;
  let next = 10_000;
  while (done < count) {
    const size = Math.min(count - done, 1 + Math.floor(random() * 64));
    const batch = [];
    for (let i = 0; i < size; i++) batch.push(texts[(done + i) % texts.length]);
    await p.predict(batch);
    done += size;
    if (done >= next) {
      process.stdout.write(`RSS_SAMPLE ${JSON.stringify({ texts: next, rss: rss() })}\n`);
      next += 10_000;
    }
  }
  p.dispose();
}

async function http() {
  const { startServer } = L.dist('index');
  const standIn = {
    runFolder: () => '/stand-in/model',
    load: async () => {},
    dispose() {},
    predict: async (texts) =>
      texts.map((text) => ({
        text,
        label: 1,
        sentiment: '正面',
        confidence: 0.6,
        probabilities: [0.4, 0.6],
        model: 'model',
      })),
  };
  const server = await startServer(
    { port: 0, logFormat: 'json', threads: 1 },
    { predictors: [standIn], logStream: { write() {} } }
  );
  await server.ready;
  process.stdout.write(`listening on ${server.url}\n`);
  process.once('SIGTERM', () => server.stop().then(() => process.exit(0)));
}

const [mode, ...args] = process.argv.slice(2);
(mode === 'http' ? http() : predictor(args[0], args[1], Number(args[2]), Number(args[3]))).catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
