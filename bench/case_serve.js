// Case 8: `qwen3-native serve` under load on loopback: 64 clients (autocannon connections, one request in flight
// each) send one Weibo post per POST /v1/predict to a tiny-model server, with dynamic batching (the defaults) and
// with batching off (--max-batch-size 1). Reports errors, throughput, latency percentiles, the texts per model call,
// and the server's RSS every 10,000 requests of the batched run.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const autocannon = require('autocannon');
const L = require('./lib');

const CONNECTIONS = 64;
/** Distinct request bodies the clients cycle through. */
const DISTINCT_POSTS = 512;
const RSS_EVERY = 10_000;
/** A load run that has not finished by then is stopped and reported as such (the loop is bounded in time too). */
const MAX_RUN_S = 900;

const BIN = path.join(L.ROOT, 'dist', 'cli', 'main.js');
const ENV = { ...process.env, HF_HUB_OFFLINE: '1', CI: 'true' };

function exec(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`qwen3-native ${args[0]} exited with ${code}: ${err}`))));
  });
}

/** A lora run on the CLI's tiny random model (`train --model tiny`), trained once per bench run. */
async function tinyRun() {
  const dir = path.join(L.WORK, 'serve');
  const run = path.join(dir, 'models', 'qwen3_lora_tiny');
  if (fs.existsSync(path.join(run, 'run.json'))) return run;
  fs.mkdirSync(dir, { recursive: true });
  const train = path.join(dir, 'train.txt');
  fs.writeFileSync(train, L.samplePosts(256, 3).map((p) => `${p.text}\t${p.label}`).join('\n') + '\n');
  L.log('  training a tiny lora run (qwen3-native train --method lora --model tiny)');
  await exec(['train', '--method', 'lora', '--model', 'tiny', '--train', train, '--epochs', '1', '--max-samples', '64', '--batch-size', '16', '--output', run], dir);
  return run;
}

function rssOf(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number((s.match(/VmRSS:\s*(\d+)/) || [])[1]) * 1024;
}

/** Starts the server on a free loopback port and waits for /readyz. */
async function startServer(run, extra) {
  const child = spawn(process.execPath, [BIN, 'serve', '--checkpoint', run, '--port', '0', '--log-format', 'json', ...extra], {
    cwd: path.dirname(path.dirname(run)),
    env: ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  let tail = '';
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const onData = (d) => {
      // Keep only what finds the address and a tail for errors: 100,000 request lines are not kept in memory.
      tail = (tail + d).slice(-4000);
      if (log !== undefined) log += d;
      const m = log && log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        log = undefined;
        resolve(m[1]);
      }
    };
    child.stderr.on('data', onData);
    exited.then(({ code }) => reject(new Error(`serve exited with ${code}: ${tail}`)));
  });
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/readyz`)).status === 200) break;
    if (i > 1200) throw new Error('the server was not ready after 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      const r = await exited;
      if (r.code !== 0) throw new Error(`serve exited with ${r.code ?? r.signal} after SIGTERM: ${tail}`);
    },
    kill: () => child.kill('SIGKILL'),
  };
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `amount` requests from 64 clients; RSS of `pid` every RSS_EVERY responses when `sampleRss`. */
function load(url, bodies, amount, pid, sampleRss) {
  return new Promise((resolve, reject) => {
    const latencies = new Float64Array(amount);
    const statuses = {};
    const rss = [];
    let n = 0;
    const started = process.hrtime.bigint();
    const requests = bodies.map((body) => ({ method: 'POST', path: '/v1/predict', headers: { 'content-type': 'application/json' }, body }));
    const instance = autocannon({ url, connections: CONNECTIONS, pipelining: 1, amount, timeout: 30, requests }, (err, result) => {
      clearTimeout(guard);
      if (err) return reject(err);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const sorted = Array.from(latencies.subarray(0, n)).sort((a, b) => a - b);
      resolve({ n, seconds, statuses, rss, errors: result.errors, timeouts: result.timeouts, p50: percentile(sorted, 50), p99: percentile(sorted, 99), stoppedEarly: n < amount });
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      if (n < amount) latencies[n] = ms;
      n++;
      statuses[status] = (statuses[status] || 0) + 1;
      if (sampleRss && n % RSS_EVERY === 0) rss.push({ requests: n, rss: rssOf(pid) });
    });
    const guard = setTimeout(() => instance.stop(), MAX_RUN_S * 1000);
  });
}

async function serverMetrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) => Number((text.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm')) || [])[1]);
  return { calls: value('qwen3_native_batch_size_texts_count'), texts: value('qwen3_native_batch_size_texts_sum') };
}

async function measure(name, run, extra, bodies, amount, warmup, sampleRss) {
  L.log(`serve (${name}): starting the server ${extra.join(' ')}`);
  const server = await startServer(run, extra);
  try {
    await load(server.url, bodies, warmup, server.pid, false);
    const before = await serverMetrics(server.url);
    const rssStart = rssOf(server.pid);
    L.log(`serve (${name}): ${amount.toLocaleString('en-US')} requests from ${CONNECTIONS} clients`);
    const r = await load(server.url, bodies, amount, server.pid, sampleRss);
    const after = await serverMetrics(server.url);
    await server.stop();
    const ok = r.statuses[200] || 0;
    const errors = r.errors + r.timeouts + (r.n - ok);
    const textsPerCall = (after.texts - before.texts) / (after.calls - before.calls);
    L.log(`  ${(r.n / r.seconds).toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${errors} errors, ${textsPerCall.toFixed(1)} texts per model call`);
    return { ...r, ok, errors, rps: r.n / r.seconds, textsPerCall, rssStart };
  } catch (e) {
    server.kill();
    throw e;
  }
}

async function run(ctx) {
  const st = ctx.settings;
  const { SERVE_DEFAULTS } = L.dist('serve/options');
  const runDir = await tinyRun();
  const bodies = L.samplePosts(DISTINCT_POSTS, 29).map((p) => JSON.stringify({ text: p.text }));
  const warmup = Math.min(2000, st.serveRequests);
  const threads = ['--threads', String(st.serveThreads)];
  const on = await measure('batching on', runDir, threads, bodies, st.serveRequests, warmup, true);
  const off = await measure('batching off', runDir, [...threads, '--max-batch-size', '1'], bodies, st.serveUnbatchedRequests, warmup, false);
  const ratio = on.rps / off.rps;
  const first = on.rss.find((s) => s.requests === RSS_EVERY);
  const last = on.rss[on.rss.length - 1];
  const growth = first && last && last !== first ? (last.rss - first.rss) / first.rss : undefined;
  const peakGrowth = first ? Math.max(...on.rss.map((s) => s.rss)) / first.rss - 1 : undefined;
  const mb = (b) => (b / 2 ** 20).toFixed(1);
  const row = (label, r, extra) => [
    label, extra, r.n.toLocaleString('en-US'), String(r.errors), L.fmt(r.rps, 0), r.p50.toFixed(1), r.p99.toFixed(1), r.textsPerCall.toFixed(1), L.fmt(r.seconds, 1),
  ];
  const summary = { errors: on.errors + off.errors, ratio, rssGrowth: growth, requests: on.n };
  return {
    title: 'Serving: 64 clients on loopback against `qwen3-native serve` (tiny model)',
    summary,
    sections: [
      {
        table: {
          columns: ['measure', 'value', 'goal', ''],
          rows: [
            ['errors (failed, non-200 or timed out), both runs', String(summary.errors), '0', summary.errors === 0 ? 'met' : 'NOT met'],
            ['throughput, batching on / batching off', L.ratio(ratio), '>= 3x', ratio >= 3 ? 'met' : 'NOT met'],
            [
              `server RSS from ${RSS_EVERY.toLocaleString('en-US')} to ${last ? last.requests.toLocaleString('en-US') : '–'} requests`,
              growth === undefined ? '–' : `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% (${mb(first.rss)} -> ${mb(last.rss)} MiB)`,
              'within 10%',
              growth === undefined ? '–' : Math.abs(growth) <= 0.1 ? 'met' : 'NOT met',
            ],
          ],
        },
      },
      {
        table: {
          columns: ['server', 'flags', 'requests', 'errors', 'requests/s', 'p50 ms', 'p99 ms', 'texts per model call', 'seconds'],
          rows: [row('batching on', on, threads.join(' ')), row('batching off', off, `${threads.join(' ')} --max-batch-size 1`)],
        },
        notes: [
          `The server: \`qwen3-native serve --checkpoint <run> --port 0 --log-format json\` (its log read and dropped), a lora run trained by \`qwen3-native train --method lora --model tiny\` (the CLI's tiny random Qwen3: hidden 64, 2 layers) on 64 weibo2018 posts, dtype auto; the clients: autocannon in the bench process, ${CONNECTIONS} connections with one request in flight each (pipelining 1), each request \`{"text": <post>}\` cycling over ${DISTINCT_POSTS} weibo2018 posts. Both share the machine's cores.`,
          `Both servers run with --threads ${st.serveThreads} (\`--serve-threads\`): on this machine's 2 cores, shared with other work, an OpenMP team of 2 intra-op threads stalls whenever another process takes a core (single-text calls of this model: 13 texts/s with 2 threads, 129 with 1, at a load average of 5), and the server's JS thread and the clients need cores too. Every other flag is the default (--max-batch-size ${SERVE_DEFAULTS.maxBatchSize}, --max-wait-ms ${SERVE_DEFAULTS.maxWaitMs}).`,
          `Each run starts a fresh server and sends ${warmup.toLocaleString('en-US')} warm-up requests first (not counted). Latency: from sending a request to its whole response, per request, over all requests of the run. "texts per model call": from the server's /metrics (qwen3_native_batch_size_texts sum / count) over the measured requests.`,
          `batching off answers one text per model call, so it needs no 100,000 requests to show its rate: it ran ${off.n.toLocaleString('en-US')}.${on.stoppedEarly || off.stoppedEarly ? ` A run was stopped at its ${MAX_RUN_S} s limit.` : ''}`,
        ],
      },
      {
        heading: 'Server RSS (VmRSS) during the batching-on run',
        table: {
          columns: ['requests answered', 'RSS MiB'],
          rows: [['0 (after warm-up)', mb(on.rssStart)], ...on.rss.map((s) => [s.requests.toLocaleString('en-US'), mb(s.rss)])],
        },
        notes: [
          peakGrowth === undefined ? 'No sample.' : `Largest sample ${(peakGrowth * 100).toFixed(1)}% above the one at ${RSS_EVERY.toLocaleString('en-US')} requests.`,
        ],
      },
    ],
  };
}

module.exports = { run };
