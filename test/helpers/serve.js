'use strict';
// What the serve tests share: stand-in predictors (timing under the test's control), a server started in this process
// on them, and the HTTP calls and checks of the API's answers.
const path = require('path');
const { spawn } = require('child_process');

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Servers started as processes; killServers() ends those still running (a test's after.always).
const children = new Set();
const killServers = () => {
  for (const c of children) c.kill('SIGKILL');
};

/**
 * Starts `serve` as a process (environment `env`, folder `cwd`) on a free loopback port; resolves once it listens (the log names the address) and, unless
 * `ready: false`, once /readyz says the models are loaded.
 */
async function spawnServe(args, { cwd, env, ready = true }) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { cwd, env });
  children.add(child);
  const s = { child, stderr: '', stdout: '' };
  child.stdout.on('data', (d) => (s.stdout += d));
  s.exited = new Promise((resolve) =>
    child.on('close', (code, signal) => (children.delete(child), resolve({ code, signal })))
  );
  s.url = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      s.stderr += d;
      const m = s.stderr.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    s.exited.then(({ code }) => reject(new Error(`serve exited with ${code} before listening:\n${s.stderr}`)));
  });
  if (ready) await untilReady(s.url);
  s.stop = async () => {
    child.kill('SIGTERM');
    return s.exited;
  };
  return s;
}

async function untilReady(url) {
  for (let i = 0; i < 1200; i++) {
    if ((await fetch(`${url}/readyz`)).status === 200) return;
    await sleep(50);
  }
  throw new Error('the server did not get ready in 60 s');
}

/**
 * A predictor named `name` answering in 5 ms: `loadGate` holds its load and `predictGate` each call until they
 * resolve; a call with a text containing `fail` throws `error` (default "boom on <fail>").
 */
function standIn(name, { loadGate, predictGate, fail, error } = {}) {
  const calls = [];
  return {
    calls,
    info: { method: 'lora', baseModel: { spec: 'stand-in' }, labels: { 0: '负面', 1: '正面' }, maxLength: 8 },
    runFolder: () => `/runs/${name}`,
    load: () => loadGate ?? Promise.resolve(),
    async predict(texts) {
      calls.push([...texts]);
      await sleep(5);
      await predictGate;
      if (fail && texts.some((x) => x.includes(fail))) throw new Error(error ?? `boom on ${fail}`);
      return texts.map((text) => {
        const p = text.length % 2 ? 0.25 : 0.75;
        return {
          text,
          label: p > 0.5 ? 1 : 0,
          sentiment: p > 0.5 ? '正面' : '负面',
          confidence: Math.max(p, 1 - p),
          probabilities: [1 - p, p],
          model: name,
        };
      });
    },
    dispose() {},
  };
}

/** A server in this process on `predictors`, its log discarded. */
async function inProcess(predictors, options = {}) {
  const { startServer } = require('../../dist');
  return startServer(
    { host: '127.0.0.1', port: 0, logFormat: 'json', ...options },
    { predictors, logStream: { write() {} } }
  );
}

/** POSTs to /v1/predict; `body` is sent as given when a string, else as JSON. */
/** POST a JSON body to a route (default /v1/predict): { status, headers, json, text }. */
async function predict(url, body, { headers = {}, signal, route = '/v1/predict' } = {}) {
  const r = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, json, text };
}

function assertError(t, r, status, code, field, includes) {
  t.is(r.status, status, r.text);
  t.regex(r.headers.get('content-type') || '', /application\/json/);
  t.is(r.json.statusCode, status);
  t.is(r.json.code, code, r.text);
  if (field !== undefined) t.is(r.json.field, field, r.text);
  if (includes) t.true(r.json.message.includes(includes), `"${r.json.message}" should include "${includes}"`);
}

/** 128 posts of 2,000 CJK characters each: the largest request the default limits take. */
const LARGEST_BODY = JSON.stringify({
  texts: Array.from({ length: 128 }, (_, j) =>
    Array.from({ length: 2000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919 + j) % 20000))).join('')
  ),
});

/**
 * One operator's impatience: `serve` of `run` under load (four clients sending the largest request again and again),
 * `signal` once 0.8 s into the load and once more 0.3 s later, while a batch runs. Resolves with how the process
 * ended ({ code, signal }) and its log.
 */
async function doubleSignal(run, signal, { cwd, env }) {
  const s = await spawnServe(['--checkpoint', run], { cwd, env });
  let loading = true;
  const client = async () => {
    while (loading) {
      await fetch(`${s.url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: LARGEST_BODY,
      }).then(
        (r) => r.arrayBuffer(),
        () => undefined
      );
    }
  };
  const clients = [0, 1, 2, 3].map(client);
  await sleep(800);
  s.child.kill(signal);
  await sleep(300);
  s.child.kill(signal);
  const ended = await s.exited;
  loading = false;
  await Promise.all(clients);
  return { ...ended, stderr: s.stderr };
}
/** A tiny lora run in `work`/models/run that reads posts to 256 tokens: a batch of 128 keeps the compute thread busy. */
function busyRun(work, lines) {
  const { trainTinyLoraRun, weiboData } = require('./util');
  return trainTinyLoraRun({
    base: path.join(work, 'base'),
    seed: 3,
    output: path.join(work, 'models', 'run'),
    ...weiboData(lines),
    maxLength: 256,
  });
}

module.exports = {
  assertError,
  busyRun,
  doubleSignal,
  inProcess,
  killServers,
  predict,
  sleep,
  spawnServe,
  standIn,
  untilReady,
};
