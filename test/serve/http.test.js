'use strict';
// `qwen3-native serve` run as a real process (node dist/cli/main.js serve --port 0; the runs it serves are trained in
// this process) on loopback with tiny models
// trained here, talked to over HTTP: every endpoint, every bad input, the queue limit, cancellation, the API key and
// the graceful stop. A few checks of the batching and loading states run in-process on stand-in predictors, where
// timing can be controlled. Plumbing, not accuracy: the tiny models are random.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { cli: runCli } = require('../helpers/cli');
const { childEnv } = require('../helpers/env');
const { assertError, inProcess, killServers, predict, sleep, spawnServe, standIn } = require('../helpers/serve');

const ROOT = path.resolve(__dirname, '../..');
const WEIBO = path.resolve(ROOT, '..', 'shared', 'data', 'weibo2018', 'train.txt');
const { SERVE_DEFAULTS, API_KEY_ENV } = require('../../dist');
const { loadNative } = require('../../dist/native');
const { tmpDir } = require('../helpers/util');

const WORK = tmpDir('q3n-serve-');
const TRAIN = path.join(WORK, 'train.txt');
const TINY = ['--epochs', '1', '--max-samples', '64', '--batch-size', '16', '--max-length', '48'];
const RUN = path.join(WORK, 'models', 'qwen3_lora_tiny');
const RUN2 = path.join(WORK, 'models', 'second_run');
const KEY = 'k'.repeat(8) + '0123456789abcdef0123456789abcdef';

const source = fs.existsSync(WEIBO) ? WEIBO : path.join(ROOT, 'data', 'weibo_sample.txt');
const POSTS = fs
  .readFileSync(source, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .slice(0, 240);
fs.writeFileSync(TRAIN, POSTS.join('\n') + '\n');
const TEXTS = POSTS.slice(0, 8).map((l) => l.slice(0, l.lastIndexOf('\t')));

// No API key from the environment unless a test sets one.
const ENV = childEnv();
delete ENV[API_KEY_ENV];

test.after.always(() => {
  killServers();
  fs.rmSync(WORK, { recursive: true, force: true });
});

/** Runs a CLI command to the end, in this process, in WORK (helpers/cli.js): { code, stdout, stderr }. */
const cli = (args, { env = {} } = {}) => runCli(args, { cwd: WORK, env: { [API_KEY_ENV]: undefined, ...env } });

/** `serve` on a free loopback port in WORK (helpers/serve.js), without an API key from this environment. */
const serve = (args, { env = {}, ready = true } = {}) =>
  spawnServe(args, { cwd: WORK, env: { ...ENV, ...env }, ready });

async function metrics(url, headers = {}) {
  return (await fetch(`${url}/metrics`, { headers })).text();
}

/** The value of one Prometheus series, e.g. metric(text, 'qwen3_native_queue_depth_texts', { model: 'm' }). */
function metric(text, name, labels = {}) {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function until(what, check, ms = 20_000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) if (await check()) return;
  throw new Error(`timed out waiting for ${what}`);
}

function assertPrediction(t, p, text, model) {
  t.deepEqual(
    Object.keys(p),
    ['text', 'label', 'sentiment', 'confidence', 'probabilities', 'model'],
    'the keys predict --json prints, in order'
  );
  t.is(p.text, text);
  t.is(p.model, model);
  t.true(p.label === 0 || p.label === 1);
  t.is(p.sentiment, p.label === 1 ? '正面' : '负面');
  t.true(Math.abs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5);
  t.is(p.confidence, p.probabilities[p.label]);
}

// One tiny lora run (and a copy under another name, for two models) shared by every test.
let trained;
function trainOnce() {
  trained ??= (async () => {
    const r = await cli(['train', '--method', 'lora', '--model', 'tiny', '--train', TRAIN, ...TINY]);
    if (r.code !== 0) throw new Error(`training the tiny run failed:\n${r.stderr}`);
    fs.cpSync(RUN, RUN2, { recursive: true });
  })();
  return trained;
}

// ---- startup: flags and the rules checked before binding ----

test.serial('serve --help: flags with the defaults the server uses', async (t) => {
  const r = await cli(['serve', '--help']);
  t.is(r.code, 0);
  const line = (flag) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${flag} `)) ?? '';
  t.regex(line('--checkpoint'), /--checkpoint <dir> \.\.\./, 'repeatable');
  t.regex(line('--host'), new RegExp(`default ${SERVE_DEFAULTS.host.replace(/\./g, '\\.')}\\b`));
  t.regex(line('--port'), new RegExp(`default ${SERVE_DEFAULTS.port}\\b`));
  t.regex(line('--max-batch-size'), new RegExp(`default ${SERVE_DEFAULTS.maxBatchSize}\\b`));
  t.regex(line('--max-wait-ms'), new RegExp(`default ${SERVE_DEFAULTS.maxWaitMs}\\b`));
  t.regex(line('--queue-limit'), new RegExp(`default ${SERVE_DEFAULTS.queueLimit}\\b`));
  t.regex(line('--max-texts'), new RegExp(`default ${SERVE_DEFAULTS.maxTexts}\\b`));
  t.regex(line('--max-text-length'), new RegExp(`default ${SERVE_DEFAULTS.maxTextLength}\\b`));
  t.regex(line('--body-limit'), new RegExp(`default ${SERVE_DEFAULTS.bodyLimit}\\b`));
  t.regex(line('--api-key'), new RegExp(API_KEY_ENV));
  t.regex(line('--log-format'), /text \| json/);
  t.regex(line('--threads'), new RegExp(`${SERVE_DEFAULTS.threads} here`));
  const predictHelp = await cli(['predict', '--help']);
  t.notRegex(predictHelp.stdout, /--checkpoint <dir> \.\.\./, 'predict uses one --checkpoint');
  t.regex((await cli(['--help'])).stdout, /^\s+serve\s/m);
});

test.serial('startup errors exit 2 naming the flag, before anything listens', async (t) => {
  await trainOnce();
  const cases = [
    [[], 'serve needs the run(s) to serve: --checkpoint'],
    [['--checkpoint', path.join(WORK, 'nope')], 'does not exist'],
    [['--checkpoint', RUN, '--load-all'], '--load-all and --checkpoint exclude each other'],
    [['--checkpoint', RUN, '--host', '0.0.0.0'], '--host 0.0.0.0 is reachable from other machines: give --api-key'],
    [['--checkpoint', RUN, '--api-key', 'short'], '--api-key: use at least 16 characters'],
    [['--checkpoint', RUN, '--max-texts', '10', '--queue-limit', '5'], '--max-texts (10) is above --queue-limit (5)'],
    [['--checkpoint', RUN, '--port', '70000'], '--port: expected a port number from 0 to 65535 but received 70000'],
    [['--checkpoint', RUN, '--max-batch-size', '0'], '--max-batch-size: expected a positive integer but received 0'],
    [['--checkpoint', RUN, '--log-format', 'xml'], '--log-format: expected one of text, json but received xml'],
    [['--checkpoint', RUN, RUN2], 'unexpected argument'],
  ];
  for (const [args, message] of cases) {
    const r = await cli(['serve', ...args]);
    t.is(r.code, 2, `${args.join(' ')}\n${r.stderr}`);
    t.true(r.stderr.includes(message), `${args.join(' ')}: ${r.stderr}`);
    t.false(/listening on/.test(r.stderr), 'refused before binding');
  }
  // The key may come from the environment instead of the flag, and is then required off loopback all the same.
  const short = await cli(['serve', '--checkpoint', RUN, '--host', '0.0.0.0'], { env: { [API_KEY_ENV]: 'short' } });
  t.is(short.code, 2);
  t.true(short.stderr.includes('use at least 16 characters'), short.stderr);
});

// ---- the API, with two models and small limits ----

test.serial('every endpoint and every bad input, JSON logs, SIGTERM exits 0', async (t) => {
  await trainOnce();
  const s = await serve([
    '--checkpoint',
    RUN,
    '--checkpoint',
    RUN2,
    '--max-texts',
    '4',
    '--max-text-length',
    '200',
    '--body-limit',
    '4000',
    '--log-format',
    'json',
  ]);
  const { url } = s;

  t.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
  const ready = await fetch(`${url}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(await ready.json(), { status: 'ready', models: ['qwen3_lora_tiny', 'second_run'] });

  // predictions: as predict --json prints them, one per text, in order; the first model unless one is named
  const many = await predict(url, { texts: TEXTS.slice(0, 3) });
  t.is(many.status, 200, many.text);
  t.is(many.json.predictions.length, 3);
  many.json.predictions.forEach((p, i) => assertPrediction(t, p, TEXTS[i], 'qwen3_lora_tiny'));
  const viaCli = (await cli(['predict', '--checkpoint', RUN, '--json', ...TEXTS.slice(0, 3)])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  viaCli.forEach((c, i) => {
    const p = many.json.predictions[i];
    t.is(p.label, c.label);
    t.true(Math.abs(p.probabilities[1] - c.probabilities[1]) < 1e-4, `${p.probabilities} vs ${c.probabilities}`);
  });
  const one = await predict(url, { text: TEXTS[0], model: 'second_run' });
  t.is(one.status, 200, one.text);
  t.is(one.json.predictions.length, 1);
  assertPrediction(t, one.json.predictions[0], TEXTS[0], 'second_run');

  const models = await (await fetch(`${url}/v1/models`)).json();
  t.deepEqual(
    models.models.map((m) => [m.name, m.default, m.method, m.baseModel]),
    [
      ['qwen3_lora_tiny', true, 'lora', 'tiny'],
      ['second_run', false, 'lora', 'tiny'],
    ]
  );
  t.deepEqual(models.models[0].labels, [
    { label: 0, sentiment: '负面' },
    { label: 1, sentiment: '正面' },
  ]);
  const runJson = JSON.parse(fs.readFileSync(path.join(RUN, 'run.json'), 'utf8'));
  t.is(models.models[0].devAccuracy, runJson.best.metrics.accuracy);
  t.is(models.models[0].maxLength, 48);

  // bad input: 4xx JSON naming the field, and the server keeps serving
  assertError(t, await predict(url, '{"texts": ["a"'), 400, 'invalid_json', 'body', 'not valid JSON');
  assertError(t, await predict(url, '[1, 2]'), 400, 'invalid_request', 'body', 'body: expected a JSON object');
  assertError(
    t,
    await predict(url, { texts: 'one post' }),
    400,
    'invalid_request',
    'texts',
    'texts: expected a list but received "one post"'
  );
  assertError(
    t,
    await predict(url, { texts: ['ok', 5] }),
    400,
    'invalid_request',
    'texts[1]',
    'texts[1]: expected a string but received 5'
  );
  assertError(t, await predict(url, { text: 7 }), 400, 'invalid_request', 'text', 'text: expected a string');
  assertError(
    t,
    await predict(url, { texts: ['ok'], model: 3 }),
    400,
    'invalid_request',
    'model',
    'model: expected a string'
  );
  assertError(
    t,
    await predict(url, { texts: [] }),
    400,
    'invalid_request',
    'texts',
    'texts: expected at least one text'
  );
  assertError(t, await predict(url, { texts: ['a', '  '] }), 400, 'invalid_request', 'texts[1]', 'non-space character');
  assertError(
    t,
    await predict(url, { texts: ['a', 'b', 'c', 'd', 'e'] }),
    400,
    'invalid_request',
    'texts',
    'at most 4 texts per request but received 5'
  );
  assertError(
    t,
    await predict(url, { texts: ['a', '好'.repeat(201)] }),
    400,
    'invalid_request',
    'texts[1]',
    'at most 200 characters but received 201'
  );
  assertError(
    t,
    await predict(url, { text: '好'.repeat(201) }),
    400,
    'invalid_request',
    'text',
    'at most 200 characters'
  );
  assertError(t, await predict(url, { model: 'qwen3_lora_tiny' }), 400, 'invalid_request', 'texts', 'texts: missing');
  assertError(t, await predict(url, { text: 'a', texts: ['b'] }), 400, 'invalid_request', 'texts', 'not both');
  assertError(t, await predict(url, { texts: ['a'], txt: 'b' }), 400, 'invalid_request', 'txt', 'txt: unknown field');
  const several = await predict(url, { texts: [1, 'ok', '好'.repeat(201)] });
  t.true(
    several.json.message.includes('texts[0]') && several.json.message.includes('texts[2]'),
    'every problem listed'
  );
  assertError(
    t,
    await predict(url, { text: 'a', model: 'x'.repeat(4100) }),
    413,
    'body_too_large',
    'body',
    'limit of 4000 bytes'
  );
  assertError(t, await predict(url, '', {}), 400, 'invalid_json', 'body', 'empty');
  assertError(
    t,
    await predict(url, 'texts=a', { headers: { 'content-type': 'text/plain' } }),
    415,
    'unsupported_media_type',
    'body',
    'Content-Type: application/json'
  );
  const unknown = await predict(url, { text: 'a', model: 'nope' });
  assertError(t, unknown, 404, 'unknown_model', 'model', 'no model named "nope"');
  t.deepEqual(unknown.json.models, ['qwen3_lora_tiny', 'second_run']);
  const noRoute = await fetch(`${url}/v2/predict`);
  t.is(noRoute.status, 404);
  t.regex((await noRoute.json()).message, /no route GET \/v2\/predict; the routes are POST \/v1\/predict/);
  // A route's path with another method: 405 and Allow, as HTTP says (not 404).
  const wrongMethod = await fetch(`${url}/v1/predict`);
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.get('allow'), 'POST');
  const refused = await wrongMethod.json();
  t.is(refused.code, 'method_not_allowed');
  t.is(refused.message, '/v1/predict takes POST, not GET');
  const postHealth = await fetch(`${url}/healthz`, { method: 'POST' });
  t.is(postHealth.status, 405);
  t.is(postHealth.headers.get('allow'), 'GET, HEAD');
  t.is((await predict(url, { text: TEXTS[1] })).status, 200, 'still serving after bad input');

  // /metrics: requests by status, latency, batch sizes, queue depth, texts/s, the process
  const m = await metrics(url);
  t.true(metric(m, 'qwen3_native_http_requests_total', { route: '/v1/predict', status: '200' }) >= 3);
  t.true(metric(m, 'qwen3_native_http_requests_total', { route: '/v1/predict', status: '400' }) >= 15);
  t.is(metric(m, 'qwen3_native_http_requests_total', { route: '/v1/predict', status: '413' }), 1);
  t.is(metric(m, 'qwen3_native_http_requests_total', { route: 'unmatched', status: '404' }), 1);
  for (const method of ['GET', 'POST'])
    t.is(metric(m, 'qwen3_native_http_requests_total', { method, route: 'unmatched', status: '405' }), 1);
  t.true(metric(m, 'qwen3_native_http_request_duration_seconds_count', { route: '/v1/predict' }) >= 20);
  t.is(metric(m, 'qwen3_native_texts_predicted_total', { model: 'qwen3_lora_tiny' }), 4);
  t.is(metric(m, 'qwen3_native_texts_predicted_total', { model: 'second_run' }), 1);
  t.is(metric(m, 'qwen3_native_batch_size_texts_sum', { model: 'qwen3_lora_tiny' }), 4);
  t.is(metric(m, 'qwen3_native_queue_depth_texts', { model: 'qwen3_lora_tiny' }), 0);
  t.true(metric(m, 'qwen3_native_texts_per_second', { model: 'qwen3_lora_tiny' }) > 0);
  t.true(metric(m, 'process_resident_memory_bytes') > 0);
  // The pool's two series (this model's few small calls may have pooled nothing yet), the cache within its cap.
  const cached = metric(m, 'qwen3_native_cpu_pool_bytes', { state: 'cached' });
  t.true(cached >= 0 && cached <= loadNative().cpuPool().cacheLimit, `cached ${cached}`);
  t.true(metric(m, 'qwen3_native_cpu_pool_bytes', { state: 'in_use' }) >= 0);

  // /openapi.json: generated from the route schemas, limits included
  const doc = await (await fetch(`${url}/openapi.json`)).json();
  t.is(doc.openapi, '3.1.0');
  t.deepEqual(Object.keys(doc.paths).sort(), [
    '/healthz',
    '/metrics',
    '/openapi.json',
    '/readyz',
    '/v1/explain',
    '/v1/models',
    '/v1/predict',
  ]);
  const body = doc.paths['/v1/predict'].post.requestBody.content['application/json'].schema;
  const shape = (field) => body.anyOf.find((s) => s.required.includes(field));
  t.is(shape('texts').properties.texts.maxItems, 4);
  t.is(shape('texts').properties.texts.items.maxLength, 200);
  t.is(shape('text').properties.text.maxLength, 200);
  t.truthy(doc.paths['/v1/predict'].post.responses['200']);

  // graceful stop; the log is one JSON object per line, one line per request
  const { code, signal } = await s.stop();
  t.is(code, 0, s.stderr);
  t.is(signal, null);
  const lines = s.stderr.trim().split('\n');
  const logs = lines.map((l) => JSON.parse(l));
  const requests = logs.filter((l) => l.msg === 'request');
  t.true(requests.length >= 25);
  for (const r of requests)
    t.true(
      typeof r.reqId === 'string' &&
        typeof r.status === 'number' &&
        typeof r.ms === 'number' &&
        typeof r.url === 'string'
    );
  t.truthy(requests.find((r) => r.status === 413 && r.url === '/v1/predict'));
  t.truthy(logs.find((l) => l.msg === 'stopped'));
});

// ---- batching, the queue limit, cancellation, the graceful stop with work queued ----

test.serial('concurrent requests are merged into one model call; --max-batch-size 1 turns that off', async (t) => {
  await trainOnce();
  for (const [maxBatch, expectCalls] of [
    [64, (n) => n < 8],
    [1, (n) => n === 8],
  ]) {
    // A long wait makes the merge certain: all 8 arrive within it.
    const s = await serve([
      '--load-all',
      '--models-dir',
      path.join(WORK, 'models'),
      '--max-wait-ms',
      '300',
      '--max-batch-size',
      String(maxBatch),
    ]);
    const answers = await Promise.all(TEXTS.map((text) => predict(s.url, { text })));
    answers.forEach((a, i) => {
      t.is(a.status, 200, a.text);
      assertPrediction(t, a.json.predictions[0], TEXTS[i], 'qwen3_lora_tiny');
    });
    const m = await metrics(s.url);
    const calls = metric(m, 'qwen3_native_batch_size_texts_count', { model: 'qwen3_lora_tiny' });
    t.is(metric(m, 'qwen3_native_batch_size_texts_sum', { model: 'qwen3_lora_tiny' }), 8);
    t.true(expectCalls(calls), `--max-batch-size ${maxBatch}: 8 texts in ${calls} calls`);
    t.is((await s.stop()).code, 0);
  }
});

test.serial('a full queue answers 503 with Retry-After; a client that aborts frees its place', async (t) => {
  await trainOnce();
  // Texts wait up to 10 s for company, so the queue stays full while we look.
  const s = await serve(['--checkpoint', RUN, '--queue-limit', '3', '--max-texts', '3', '--max-wait-ms', '10000']);
  const depth = async () =>
    metric(await metrics(s.url), 'qwen3_native_queue_depth_texts', { model: 'qwen3_lora_tiny' });
  const abort = new AbortController();
  const first = predict(s.url, { texts: TEXTS.slice(0, 3) }, { signal: abort.signal }).catch((e) => e);
  await until('3 texts queued', async () => (await depth()) === 3);

  const full = await predict(s.url, { text: TEXTS[3] });
  assertError(t, full, 503, 'queue_full', undefined, 'the queue is full (3 texts waiting, limit 3)');
  t.regex(full.headers.get('retry-after') || '', /^[1-9]\d*$/, 'Retry-After in whole seconds');

  abort.abort();
  t.is((await first).name, 'AbortError');
  await until('the aborted request to leave the queue', async () => (await depth()) === 0);
  const m = await metrics(s.url);
  t.is(metric(m, 'qwen3_native_cancelled_requests_total', { model: 'qwen3_lora_tiny' }), 1);
  t.is(metric(m, 'qwen3_native_cancelled_texts_total', { model: 'qwen3_lora_tiny' }), 3);
  t.is(metric(m, 'qwen3_native_texts_predicted_total', { model: 'qwen3_lora_tiny' }), 0, 'its texts were never run');
  t.is(metric(m, 'qwen3_native_http_requests_total', { route: '/v1/predict', status: '499' }), 1);

  // The freed places take new work (three texts: the whole limit).
  const later = predict(s.url, { texts: TEXTS.slice(3, 6) });
  await until('the new texts queued', async () => (await depth()) === 3);
  t.is((await s.stop()).code, 0, s.stderr);
  const answered = await later;
  t.is(answered.status, 200, 'answered during the graceful stop');
  t.is(answered.json.predictions.length, 3);
  t.regex(s.stderr, /POST \/v1\/predict 499/, 'the cancelled request is logged');
});

test.serial('SIGTERM with requests queued: they are answered, new ones are refused, exit 0', async (t) => {
  await trainOnce();
  // The longest wait there is (60 s): a queue run only after it would take a minute; at once it takes well under 1 s.
  const s = await serve(['--checkpoint', RUN, '--max-wait-ms', '60000']);
  const queued = TEXTS.slice(0, 5).map((text) => predict(s.url, { text }));
  await until(
    '5 texts queued',
    async () => metric(await metrics(s.url), 'qwen3_native_queue_depth_texts', { model: 'qwen3_lora_tiny' }) === 5
  );
  const started = Date.now();
  s.child.kill('SIGTERM');
  await until('the stop to begin', () => /stopping: finishing/.test(s.stderr));
  const late = await predict(s.url, { text: 'too late' }).catch((e) => e);
  t.true(
    late instanceof Error || late.status === 503,
    `a request after SIGTERM is refused: ${late.status ?? late.message}`
  );
  const answers = await Promise.all(queued);
  answers.forEach((a, i) => {
    t.is(a.status, 200, a.text);
    assertPrediction(t, a.json.predictions[0], TEXTS[i], 'qwen3_lora_tiny');
  });
  t.true(Date.now() - started < 30_000, 'the queue is run at once, not after --max-wait-ms');
  const { code, signal } = await s.exited;
  t.is(code, 0, s.stderr);
  t.is(signal, null);
  t.regex(s.stderr, /stopping: finishing 5 queued texts/);
  t.regex(s.stderr, /stopped/);
  await t.throwsAsync(fetch(`${s.url}/healthz`), undefined, 'nothing listens after the stop');
});

// ---- the API key ----

test.serial('--api-key (or the environment): Bearer required except on /healthz and /readyz', async (t) => {
  await trainOnce();
  for (const how of ['flag', 'env']) {
    const s = await serve(how === 'flag' ? ['--checkpoint', RUN, '--api-key', KEY] : ['--checkpoint', RUN], {
      env: how === 'env' ? { [API_KEY_ENV]: KEY } : {},
    });
    t.is((await fetch(`${s.url}/healthz`)).status, 200);
    t.is((await fetch(`${s.url}/readyz`)).status, 200);
    const none = await predict(s.url, { text: TEXTS[0] });
    assertError(t, none, 401, 'unauthorized', undefined, 'Authorization: Bearer');
    t.regex(none.headers.get('www-authenticate') || '', /^Bearer/);
    assertError(
      t,
      await predict(s.url, { text: TEXTS[0] }, { headers: { authorization: `Bearer ${KEY}x` } }),
      401,
      'unauthorized'
    );
    assertError(t, await predict(s.url, { text: TEXTS[0] }, { headers: { authorization: KEY } }), 401, 'unauthorized');
    t.is((await fetch(`${s.url}/metrics`)).status, 401);
    t.is((await fetch(`${s.url}/v1/models`)).status, 401);
    const ok = await predict(s.url, { text: TEXTS[0] }, { headers: { authorization: `Bearer ${KEY}` } });
    t.is(ok.status, 200, ok.text);
    t.is((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).status, 200);
    t.is((await s.stop()).code, 0);
    // text logs (the default): one readable line per request
    t.regex(s.stderr, /INFO\s+POST \/v1\/predict 401 [\d.]+ ms req-\w+/);
    t.false(s.stderr.includes(KEY), 'the key is never logged');
  }
});

// ---- in-process, on stand-in predictors: loading states, batching order, failures ----

test.serial('readyz and predict answer 503 while the models load', async (t) => {
  let open;
  const gate = new Promise((r) => (open = r));
  const server = await inProcess([standIn('m', { loadGate: gate })]);
  const readyz = await fetch(`${server.url}/readyz`);
  t.is(readyz.status, 503);
  t.deepEqual(await readyz.json(), { status: 'loading', models: ['m'] });
  t.is((await fetch(`${server.url}/healthz`)).status, 200, 'alive while loading');
  const early = await predict(server.url, { text: 'a' });
  assertError(t, early, 503, 'not_ready', undefined, 'still loading');
  t.is(early.headers.get('retry-after'), '1');
  open();
  await server.ready;
  t.is((await fetch(`${server.url}/readyz`)).status, 200);
  t.is((await predict(server.url, { text: 'a' })).status, 200);
  await server.stop();
  t.is(await server.closed, undefined);
});

test.serial('batches split back per request, in order, a request larger than a batch included', async (t) => {
  const m = standIn('m');
  const server = await inProcess([m], { maxBatchSize: 4, maxWaitMs: 50 });
  await server.ready;
  const requests = [['a', 'bb', 'ccc'], ['dddd', 'e', 'ff', 'ggg', 'h', 'ii', 'jjj'], ['k']];
  const answers = await Promise.all(requests.map((texts) => predict(server.url, { texts })));
  answers.forEach((a, i) => {
    t.is(a.status, 200);
    t.deepEqual(
      a.json.predictions.map((p) => p.text),
      requests[i]
    );
    t.deepEqual(
      a.json.predictions.map((p) => p.label),
      requests[i].map((x) => (x.length % 2 ? 0 : 1))
    );
  });
  t.true(
    m.calls.every((c) => c.length <= 4),
    `batches ${JSON.stringify(m.calls)}`
  );
  t.deepEqual(m.calls.flat(), requests.flat(), 'first come, first served');
  await server.stop();
});

test.serial('a failing model call fails only its requests, as a 500 JSON error', async (t) => {
  const server = await inProcess([standIn('m', { fail: 'bad' })], { maxBatchSize: 1 });
  await server.ready;
  const [bad, good] = await Promise.all([predict(server.url, { text: 'bad' }), predict(server.url, { text: 'good' })]);
  assertError(t, bad, 500, 'internal', undefined, 'boom on bad');
  t.is(good.status, 200);
  t.is((await predict(server.url, { text: 'again' })).status, 200, 'still serving');
  await server.stop();
});

test.serial('a body full of bad items or fields gets one short 400, answered from its size', async (t) => {
  const server = await inProcess([standIn('m')], { maxTexts: 10 });
  await server.ready;
  const r = await predict(server.url, `{"texts":[${new Array(300_000).fill('1').join(',')}]}`);
  assertError(t, r, 400, 'invalid_request', 'texts', 'at most 10 texts per request but received 300000');
  t.true(r.text.length < 500, `${r.text.length} characters`);
  const fields = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`f${i}`, i]));
  const f = await predict(server.url, { text: 'a', ...fields });
  assertError(t, f, 400, 'invalid_request', 'f0', 'f0: unknown field');
  t.regex(f.json.message, /… and \d+ more problems$/);
  t.true(f.text.length < 2000, `${f.text.length} characters`);
  const many = await predict(server.url, { texts: Array.from({ length: 10 }, (_, i) => i) });
  assertError(t, many, 400, 'invalid_request', 'texts[0]', 'texts[0]: expected a string but received 0');
  t.regex(many.json.message, /texts\[4\].*… and 5 more problems$/);
  t.is((await predict(server.url, { text: 'a' })).status, 200, 'still serving');
  await server.stop();
});
