// Case 8: `qwen3-native serve` under load on loopback: 64 clients (autocannon connections, one request in flight
// each) send one Weibo post per POST /v1/predict to a tiny-model server, with dynamic batching (the defaults) and
// with batching off (--max-batch-size 1). Reports errors, throughput, latency percentiles, the texts per model call,
// and the server's RSS every 10,000 requests of the batched run.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const autocannon = require('autocannon');
const L = require('./lib');

const CONNECTIONS = 64;
/** Distinct request bodies the clients cycle through. */
const DISTINCT_POSTS = 512;
const RSS_EVERY = 10_000;
/** Texts (requests) of each RSS control. */
const CONTROL_COUNT = 50_000;
/** Rounds of load alternating between the two servers. */
const ROUNDS = 5;
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
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`qwen3-native ${args[0]} exited with ${code}: ${err}`))
    );
  });
}

/** A lora run on the CLI's tiny random model (`train --model tiny`), trained once per bench run. */
async function tinyRun() {
  const dir = path.join(L.WORK, 'serve');
  const run = path.join(dir, 'models', 'qwen3_lora_tiny');
  if (fs.existsSync(path.join(run, 'run.json'))) return run;
  fs.mkdirSync(dir, { recursive: true });
  const train = path.join(dir, 'train.txt');
  fs.writeFileSync(
    train,
    L.samplePosts(256, 3)
      .map((p) => `${p.text}\t${p.label}`)
      .join('\n') + '\n'
  );
  L.log('  training a tiny lora run (qwen3-native train --method lora --model tiny)');
  await exec(
    [
      'train',
      '--method',
      'lora',
      '--model',
      'tiny',
      '--train',
      train,
      '--epochs',
      '1',
      '--max-samples',
      '64',
      '--batch-size',
      '16',
      '--output',
      run,
    ],
    dir
  );
  return run;
}

function rssOf(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number((s.match(/VmRSS:\s*(\d+)/) || [])[1]) * 1024;
}

/** Starts the server (this package's CLI, or `bin`) on a free loopback port and waits for /readyz. */
async function startServer(run, extra, bin = BIN) {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--checkpoint', run, '--port', '0', '--log-format', 'json', ...extra],
    {
      cwd: path.dirname(path.dirname(run)),
      env: ENV,
      stdio: ['ignore', 'ignore', 'pipe'],
    }
  );
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

/**
 * `amount` requests from 64 clients; RSS of `pid` whenever the server's total (`before` + this run's) crosses a
 * multiple of RSS_EVERY, when `sampleRss`.
 */
function load(url, bodies, amount, pid, sampleRss, before = 0) {
  return new Promise((resolve, reject) => {
    const latencies = new Float64Array(amount);
    const statuses = {};
    const rss = [];
    let n = 0;
    const started = process.hrtime.bigint();
    const requests = bodies.map((body) => ({
      method: 'POST',
      path: '/v1/predict',
      headers: { 'content-type': 'application/json' },
      body,
    }));
    const instance = autocannon(
      { url, connections: CONNECTIONS, pipelining: 1, amount, timeout: 30, requests },
      (err, result) => {
        clearTimeout(guard);
        if (err) return reject(err);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const ok = statuses[200] || 0;
        resolve({
          n,
          seconds,
          latencies: latencies.subarray(0, Math.min(n, amount)),
          rss,
          errors: result.errors + result.timeouts + (n - ok),
          stoppedEarly: n < amount,
        });
      }
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (n < amount) latencies[n] = ms;
      n++;
      statuses[status] = (statuses[status] || 0) + 1;
      if (sampleRss && (before + n) % RSS_EVERY === 0) rss.push({ requests: before + n, rss: rssOf(pid) });
    });
    const guard = setTimeout(() => instance.stop(), MAX_RUN_S * 1000);
  });
}

async function serverMetrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) => Number((text.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm')) || [])[1]);
  return { calls: value('qwen3_native_batch_size_texts_count'), texts: value('qwen3_native_batch_size_texts_sum') };
}

/** One server under test and what its measured requests gave, round after round. */
class Subject {
  constructor(name, flags, bin = BIN) {
    this.name = name;
    this.flags = flags;
    this.bin = bin;
    this.rounds = [];
    this.latencies = [];
    this.rss = [];
    this.n = 0;
    this.errors = 0;
    this.seconds = 0;
  }

  async start(run, bodies, warmup) {
    L.log(
      `serve (${this.name}): starting the server ${this.flags.join(' ')}; ${warmup.toLocaleString('en-US')} warm-up requests`
    );
    this.server = await startServer(run, this.flags, this.bin);
    await load(this.server.url, bodies, warmup, this.server.pid, false);
    this.before = await serverMetrics(this.server.url);
    this.rssStart = rssOf(this.server.pid);
  }

  async round(bodies, amount, sampleRss) {
    const r = await load(this.server.url, bodies, amount, this.server.pid, sampleRss, this.n);
    this.n += r.n;
    this.errors += r.errors;
    this.seconds += r.seconds;
    this.latencies.push(r.latencies);
    this.rss.push(...r.rss);
    this.stoppedEarly ||= r.stoppedEarly;
    this.rounds.push(r.n / r.seconds);
    L.log(
      `  ${this.name}: ${(r.n / r.seconds).toFixed(0)} requests/s over ${r.n.toLocaleString('en-US')}, ${r.errors} errors (load average ${os.loadavg()[0].toFixed(1)})`
    );
  }

  async finish() {
    const after = await serverMetrics(this.server.url);
    this.textsPerCall = (after.texts - this.before.texts) / (after.calls - this.before.calls);
    await this.server.stop();
    const all = new Float64Array(this.latencies.reduce((k, l) => k + l.length, 0));
    let at = 0;
    for (const l of this.latencies) {
      all.set(l, at);
      at += l.length;
    }
    all.sort();
    this.p50 = percentile(all, 50);
    this.p99 = percentile(all, 99);
    this.rps = this.n / this.seconds;
  }
}

/** RSS of the Predictor alone (no HTTP), calls of 1..64 texts: serve_child.js predictor. */
function predictorControl(runDir, texts, count, threads) {
  const file = path.join(L.WORK, 'serve', 'control-texts.json');
  fs.writeFileSync(file, JSON.stringify(texts));
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'serve_child.js'), 'predictor', runDir, file, String(count), String(threads)],
      { env: ENV, stdio: ['ignore', 'pipe', 'inherit'] }
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`serve_child.js predictor exited with ${code}`));
      resolve(
        out
          .split('\n')
          .filter((l) => l.startsWith('RSS_SAMPLE '))
          .map((l) => JSON.parse(l.slice('RSS_SAMPLE '.length)))
      );
    });
  });
}

/** RSS of the server with a stand-in model that answers at once (the HTTP side alone): serve_child.js http. */
async function httpControl(bodies, amount) {
  const child = spawn(process.execPath, [path.join(__dirname, 'serve_child.js'), 'http'], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) resolve(m[1]);
      });
      child.on('close', (code) => reject(new Error(`serve_child.js http exited with ${code}`)));
    });
    const start = rssOf(child.pid);
    const r = await load(url, bodies, amount, child.pid, true);
    return { start, rss: r.rss, rps: r.n / r.seconds, errors: r.errors };
  } finally {
    child.kill('SIGTERM');
  }
}

async function run(ctx) {
  const st = ctx.settings;
  const { SERVE_DEFAULTS } = L.dist('serve/options');
  const runDir = await tinyRun();
  const bodies = L.samplePosts(DISTINCT_POSTS, 29).map((p) => JSON.stringify({ text: p.text }));
  const warmup = Math.min(2000, st.serveRequests);
  const threads = ['--threads', String(st.serveThreads)];
  const on = new Subject('batching on', threads);
  const off = new Subject('batching off', [...threads, '--max-batch-size', '1']);
  const rounds = Math.max(1, Math.min(ROUNDS, Math.floor(st.serveRequests / RSS_EVERY)));
  try {
    await on.start(runDir, bodies, warmup);
    await off.start(runDir, bodies, warmup);
    // Rounds alternate between the two servers, so a change in the machine's other load hits both alike.
    for (let i = 0; i < rounds; i++) {
      const share = (total) => Math.floor(total / rounds) + (i === rounds - 1 ? total % rounds : 0);
      L.log(`serve: round ${i + 1} of ${rounds}`);
      await on.round(bodies, share(st.serveRequests), true);
      await off.round(bodies, share(st.serveUnbatchedRequests), false);
    }
    await on.finish();
    await off.finish();
  } finally {
    for (const x of [on, off]) if (x.server) x.server.kill();
  }
  const controlCount = Math.min(st.serveRequests, CONTROL_COUNT);
  L.log(`serve: controls for the RSS curve (${controlCount.toLocaleString('en-US')} texts / requests each)`);
  const predictorRss = await predictorControl(
    runDir,
    bodies.map((b) => JSON.parse(b).text),
    controlCount,
    st.serveThreads
  );
  const http = await httpControl(bodies, controlCount);
  const ratio = on.rps / off.rps;
  const roundRatios = on.rounds.map((r, i) => r / off.rounds[i]);
  const first = on.rss.find((x) => x.requests === RSS_EVERY);
  const last = on.rss[on.rss.length - 1];
  const growth = first && last && last !== first ? (last.rss - first.rss) / first.rss : undefined;
  const peakGrowth = first ? Math.max(...on.rss.map((x) => x.rss)) / first.rss - 1 : undefined;
  const mb = (b) => (b / 2 ** 20).toFixed(1);
  const row = (x) => [
    x.name,
    x.flags.join(' '),
    x.n.toLocaleString('en-US'),
    String(x.errors),
    L.fmt(x.rps, 0),
    x.rounds.map((r) => r.toFixed(0)).join(', '),
    x.p50.toFixed(1),
    x.p99.toFixed(1),
    x.textsPerCall.toFixed(1),
  ];
  const summary = { errors: on.errors + off.errors, ratio, rssGrowth: growth, requests: on.n };
  const n = (x) => x.toLocaleString('en-US');
  return {
    title: 'Serving: 64 clients on loopback against `qwen3-native serve` (tiny model)',
    summary,
    sections: [
      {
        table: {
          columns: ['measure', 'value', 'goal', ''],
          rows: [
            [
              'errors (failed, non-200 or timed out), both servers',
              String(summary.errors),
              '0',
              summary.errors === 0 ? 'met' : 'NOT met',
            ],
            [
              `throughput, batching on / batching off (per round: ${roundRatios.map((r) => r.toFixed(2)).join(', ')})`,
              L.ratio(ratio),
              '>= 3x',
              ratio >= 3 ? 'met' : 'NOT met',
            ],
            [
              `server RSS from ${n(RSS_EVERY)} to ${last ? n(last.requests) : '–'} requests`,
              growth === undefined
                ? '–'
                : `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% (${mb(first.rss)} -> ${mb(last.rss)} MiB)`,
              'within 10%',
              growth === undefined ? '–' : Math.abs(growth) <= 0.1 ? 'met' : 'NOT met',
            ],
          ],
        },
      },
      {
        table: {
          columns: [
            'server',
            'flags',
            'requests',
            'errors',
            'requests/s',
            'requests/s per round',
            'p50 ms',
            'p99 ms',
            'texts per model call',
          ],
          rows: [row(on), row(off)],
        },
        notes: [
          `The servers: \`qwen3-native serve --checkpoint <run> --port 0 --log-format json\` (the log read and dropped), on a lora run trained by \`qwen3-native train --method lora --model tiny\` (the CLI's tiny random Qwen3: hidden 64, 2 layers; posts up to the default 256 tokens) on 64 weibo2018 posts, dtype auto. The clients: autocannon in the bench process, ${CONNECTIONS} connections with one request in flight each (pipelining 1), each request \`{"text": <post>}\` cycling over ${DISTINCT_POSTS} weibo2018 posts. Servers and clients share the machine's 2 cores.`,
          `Both servers run with --threads ${st.serveThreads} (\`--serve-threads\`): on 2 cores shared with other work, an OpenMP team of 2 intra-op threads stalls whenever another process takes a core (single-text calls of this model: 13 texts/s with 2 threads, 129 with 1, at a load average of 5), and the server's JS thread and the clients need cores too. Every other flag is the default (--max-batch-size ${SERVE_DEFAULTS.maxBatchSize}, --max-wait-ms ${SERVE_DEFAULTS.maxWaitMs}); batching off is --max-batch-size 1.`,
          `Both servers start first and get ${n(warmup)} warm-up requests each (not counted); then ${rounds} rounds alternate between them (batching on ${n(Math.floor(st.serveRequests / rounds))} requests, batching off ${n(Math.floor(st.serveUnbatchedRequests / rounds))} per round), so that the machine's other load, which changed during the run (see the load averages above), falls on both alike. Throughput: requests over the seconds of that server's rounds. Latency: from sending a request to its whole response, over every measured request. "texts per model call": the server's /metrics (qwen3_native_batch_size_texts sum / count) over the measured requests.`,
          `Batching off answers one text per model call, so ${n(st.serveUnbatchedRequests)} requests show its rate; the ${n(st.serveRequests)} of batching on give the RSS curve.${on.stoppedEarly || off.stoppedEarly ? ` A round was stopped at its ${MAX_RUN_S} s limit.` : ''}`,
        ],
      },
      {
        heading: 'RSS (VmRSS, MiB) of the batching-on server, and of its two halves alone',
        table: {
          columns: [
            'requests (texts)',
            'serve, tiny model',
            'Predictor alone, no HTTP',
            'serve, stand-in model (HTTP alone)',
          ],
          rows: [
            [
              '0 (after load and warm-up)',
              mb(on.rssStart),
              predictorRss.length ? mb(predictorRss[0].rss) : '–',
              mb(http.start),
            ],
            ...on.rss.map((x) => {
              const p = predictorRss.find((y) => y.texts === x.requests);
              const h = http.rss.find((y) => y.requests === x.requests);
              return [n(x.requests), mb(x.rss), p ? mb(p.rss) : '', h ? mb(h.rss) : ''];
            }),
          ],
        },
        notes: [
          peakGrowth === undefined
            ? 'No sample.'
            : `serve: largest sample ${(peakGrowth * 100).toFixed(1)}% above the one at ${n(RSS_EVERY)} requests.`,
          `Predictor alone: a fresh \`node bench/serve_child.js predictor\` (the same run, --threads ${st.serveThreads}) calls Predictor.predict on the same posts in calls of 1 to 64 texts (seeded), as the server's batches vary, for ${n(controlCount)} texts. HTTP alone: \`serve_child.js http\`, the same server code with a stand-in model that answers at once, ${n(controlCount)} requests from the same ${CONNECTIONS} clients (${L.fmt(http.rps, 0)} requests/s, ${http.errors} errors).`,
        ],
      },
    ],
  };
}

module.exports = { run, tinyRun, Subject, CONNECTIONS, DISTINCT_POSTS };
