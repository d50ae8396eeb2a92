'use strict';
// Model resolution and downloads against a local Hugging Face Hub emulator (API + resolve endpoints on one
// server, LFS files redirected with 302 to a second server acting as the CDN). Nothing here touches the internet.
const test = require('ava');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { execFile } = require('child_process');
const {
  resolveModel,
  ModelNotFoundError,
  ModelDownloadError,
  createTinyQwen3,
  MODEL_SIZES,
  modelPreset,
} = require('../../dist');
const { downloadFile } = require('../../dist/hub/download');
const { DownloadError } = require('../../dist/hub/http');
const { hfCacheDir, isRepoId, missingModelFiles, repoCacheFolder } = require('../../dist/hub/cache');
const { MODEL_PRESETS, repoIdFor, findPreset } = require('../../dist/qwen3/presets');
const { tmpDir } = require('../helpers/util');

const ROOT = path.resolve(__dirname, '../..');
const root = tmpDir('qwen3-native-resolve-');
const ENV_KEYS = [
  'HF_ENDPOINT',
  'HF_TOKEN',
  'HF_HUB_OFFLINE',
  'HF_HUB_CACHE',
  'HF_HOME',
  'HUGGING_FACE_HUB_TOKEN',
  'HUGGINGFACE_HUB_CACHE',
  'HF_TOKEN_PATH',
  'HF_HUB_DOWNLOAD_TIMEOUT',
  'XDG_CACHE_HOME',
];
const savedEnv = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
const servers = [];
let tempCount = 0;

function tempDir(name = 'dir') {
  const dir = path.join(root, `${name}-${tempCount++}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function resetEnv() {
  for (const key of ENV_KEYS) delete process.env[key];
  process.env.HF_HOME = path.join(root, 'hf-home'); // never read a real token file or cache
}

const sha256 = (buffer) => crypto.createHash('sha256').update(buffer).digest('hex');
const gitSha1 = (buffer) => crypto.createHash('sha1').update(`blob ${buffer.length}\0`).update(buffer).digest('hex');
const randomCommit = () => crypto.randomBytes(20).toString('hex');
const randomBytes = (n, seed) => {
  const out = Buffer.alloc(n);
  let block = Buffer.from(String(seed));
  for (let at = 0; at < n; at += 32) {
    block = crypto.createHash('sha256').update(block).digest();
    block.copy(out, at, 0, Math.min(32, n - at));
  }
  return out;
};

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    servers.push(server);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function closedPortUrl() {
  const { server, url } = await listen(() => {});
  await closeServer(server);
  servers.splice(servers.indexOf(server), 1);
  return url;
}

// ---- the emulator ----

const hub = { url: '', log: [], repos: new Map() };
const cdn = { url: '', log: [], blobs: new Map(), dropOnce: new Set(), ignoreRange: new Set() };

/** files: { name: Buffer | { content, lfs, advertisedSha256 } } */
function addRepo(id, files, { gated = false } = {}) {
  const repo = { id, sha: randomCommit(), gated, files: new Map() };
  for (const [name, spec] of Object.entries(files)) {
    const entry = Buffer.isBuffer(spec) ? { content: spec } : spec;
    const lfs = entry.lfs ?? (name.endsWith('.safetensors') || entry.content.length > 100_000);
    const key = sha256(entry.content);
    if (lfs) cdn.blobs.set(key, entry.content);
    repo.files.set(name, { content: entry.content, lfs, key, sha256: entry.advertisedSha256 ?? key });
  }
  hub.repos.set(id, repo);
  return repo;
}

function sendError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code });
  res.end(JSON.stringify({ error: message }));
}

function hubHandler(req, res) {
  hub.log.push({ method: req.method, url: req.url, headers: req.headers });
  const url = new URL(req.url, hub.url);
  let match = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
  if (match && req.method === 'GET') {
    const repo = hub.repos.get(decodeURIComponent(match[1]));
    if (!repo) return sendError(res, 401, 'RepoNotFound', 'Repository not found');
    const siblings = [...repo.files.keys()].map((rfilename) => ({ rfilename }));
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ id: repo.id, sha: repo.sha, private: false, gated: repo.gated, siblings }));
  }
  match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (match) {
    const repo = hub.repos.get(decodeURIComponent(match[1]));
    if (!repo) return sendError(res, 401, 'RepoNotFound', 'Repository not found');
    if (repo.gated && req.headers.authorization !== 'Bearer good-token') {
      return sendError(res, 401, 'GatedRepo', `Access to model ${repo.id} is restricted. You must be authenticated.`);
    }
    if (match[2] !== repo.sha && match[2] !== 'main') return sendError(res, 404, 'RevisionNotFound', 'no revision');
    const file = repo.files.get(decodeURIComponent(match[3]));
    if (!file) return sendError(res, 404, 'EntryNotFound', 'Entry not found');
    if (file.lfs) {
      res.writeHead(302, {
        location: `${cdn.url}/repos/${file.key}?expires=1&signature=abc`,
        'x-linked-etag': `"${file.sha256}"`,
        'x-linked-size': String(file.content.length),
        'x-repo-commit': repo.sha,
        etag: `"${gitSha1(Buffer.from(`pointer ${file.key}`))}"`,
      });
      return res.end();
    }
    res.writeHead(200, {
      etag: `"${gitSha1(file.content)}"`,
      'content-length': String(file.content.length),
      'x-repo-commit': repo.sha,
    });
    return res.end(req.method === 'HEAD' ? undefined : file.content);
  }
  sendError(res, 404, 'NotFound', 'not found');
}

/** Serves /repos/<key> with Range support; `dropOnce` keys lose the connection halfway through their first GET. */
function cdnHandler(req, res) {
  cdn.log.push({ method: req.method, url: req.url, headers: req.headers });
  const url = new URL(req.url, cdn.url);
  const key = url.pathname.replace(/^\/(repos|files)\//, '');
  const content = cdn.blobs.get(key);
  if (!content) {
    res.writeHead(404);
    return res.end('no such object');
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range || '');
  if (range && !cdn.ignoreRange.has(key)) {
    const start = Number(range[1]);
    if (start >= content.length) {
      res.writeHead(416, { 'content-range': `bytes */${content.length}` });
      return res.end();
    }
    res.writeHead(206, {
      'content-length': String(content.length - start),
      'content-range': `bytes ${start}-${content.length - 1}/${content.length}`,
    });
    return res.end(content.subarray(start));
  }
  res.writeHead(200, { 'content-length': String(content.length), etag: `"${key}"` });
  if (cdn.dropOnce.has(key)) {
    cdn.dropOnce.delete(key);
    res.write(content.subarray(0, Math.floor(content.length / 2)), () => {
      setTimeout(() => res.socket.destroy(), 20);
    });
    return;
  }
  res.end(content);
}

const bytes = {
  tinyConfig: null,
  shard1: randomBytes(300_000, 'shard1'),
  shard2: randomBytes(200_000, 'shard2'),
  gatedWeights: randomBytes(50_000, 'gated'),
  corruptWeights: randomBytes(60_000, 'corrupt'),
};
let tinyRepo;
let shardedRepo;
let gatedRepo;

test.before(async () => {
  resetEnv();
  hub.url = (await listen(hubHandler)).url;
  cdn.url = (await listen(cdnHandler)).url;

  // A real (small-vocabulary) tiny Qwen3 as the repo content, so the snapshot is a loadable model folder.
  const source = tempDir('tiny-source');
  await createTinyQwen3(source, { config: { vocab_size: 512 } });
  const read = (name) => fs.readFileSync(path.join(source, name));
  tinyRepo = addRepo('Test/Tiny-Model', {
    '.gitattributes': Buffer.from('*.safetensors filter=lfs diff=lfs merge=lfs -text\n'),
    'README.md': Buffer.from('# Tiny\n'),
    'config.json': read('config.json'),
    'generation_config.json': Buffer.from('{"do_sample": false}\n'),
    'tokenizer.json': { content: read('tokenizer.json'), lfs: true },
    'tokenizer_config.json': read('tokenizer_config.json'),
    'model.safetensors': read('model.safetensors'),
  });
  const index = { metadata: { total_size: 500_000 }, weight_map: { a: 'model-00001-of-00002.safetensors' } };
  index.weight_map.b = 'model-00002-of-00002.safetensors';
  index.weight_map.c = 'model-00001-of-00002.safetensors';
  shardedRepo = addRepo('Test/Sharded-Model', {
    'config.json': Buffer.from('{"model_type": "qwen3"}\n'),
    'tokenizer.json': Buffer.from('{}\n'),
    'model.safetensors.index.json': Buffer.from(JSON.stringify(index)),
    'model-00001-of-00002.safetensors': bytes.shard1,
    'model-00002-of-00002.safetensors': bytes.shard2,
  });
  cdn.dropOnce.add(sha256(bytes.shard1));
  gatedRepo = addRepo(
    'Test/Gated-Model',
    {
      'config.json': Buffer.from('{"model_type": "qwen3", "gated": true}\n'),
      'tokenizer.json': Buffer.from('{}\n'),
      'model.safetensors': bytes.gatedWeights,
    },
    { gated: true }
  );
  addRepo('Test/Corrupt-Model', {
    'config.json': Buffer.from('{"model_type": "qwen3"}\n'),
    'tokenizer.json': Buffer.from('{}\n'),
    'model.safetensors': { content: bytes.corruptWeights, advertisedSha256: sha256(Buffer.from('something else')) },
  });
  addRepo('Test/No-Weights', { 'config.json': Buffer.from('{}\n'), 'README.md': Buffer.from('hi\n') });
});

test.after.always(async () => {
  await Promise.all(servers.map(closeServer));
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  fs.rmSync(root, { recursive: true, force: true });
});

test.beforeEach(() => resetEnv());

function hubRequests(predicate = () => true) {
  return hub.log.filter(predicate).length + cdn.log.filter(predicate).length;
}

// ---- presets ----

test.serial('presets name the Qwen3 repos and approximate memory per size', (t) => {
  t.deepEqual([...MODEL_SIZES], ['0.6B', '4B', '8B']);
  t.is(repoIdFor('0.6B'), 'Qwen/Qwen3-0.6B');
  t.is(repoIdFor('8B', 'embedding'), 'Qwen/Qwen3-Embedding-8B');
  t.is(MODEL_PRESETS.length, 6);
  t.is(modelPreset('4B').inferenceGB, 9);
  t.is(modelPreset('8B').loraTrainingGB, 28);
  t.is(findPreset('0.6b').repoId, 'Qwen/Qwen3-0.6B');
  t.is(findPreset('4B', 'embedding').repoId, 'Qwen/Qwen3-Embedding-4B');
  t.is(findPreset('qwen3-embedding-0.6b').family, 'embedding');
  t.is(findPreset('Qwen/Qwen3-8B').size, '8B');
  t.is(findPreset('13B'), undefined);
  t.throws(() => repoIdFor('13B'), { message: 'Expected one of "0.6B", "4B", "8B" for size but received "13B"' });
});

// ---- downloads ----

test.serial(
  'downloads into the huggingface_hub cache layout via HF_ENDPOINT, LFS through a CDN redirect',
  async (t) => {
    const cache = tempDir('cache');
    process.env.HF_HUB_CACHE = cache;
    process.env.HF_ENDPOINT = `${hub.url}/`;
    const events = [];
    const result = await resolveModel('Test/Tiny-Model', {
      modelsDir: tempDir('models'),
      token: 'good-token',
      onProgress: (p) => events.push(p),
    });
    const repoFolder = path.join(cache, 'models--Test--Tiny-Model');
    const snapshot = path.join(repoFolder, 'snapshots', tinyRepo.sha);
    t.deepEqual(result, { dir: snapshot, source: 'download', repoId: 'Test/Tiny-Model' });
    t.is(fs.readFileSync(path.join(repoFolder, 'refs', 'main'), 'utf8'), tinyRepo.sha);

    // Exactly the files the package needs; README.md and .gitattributes are left on the Hub.
    const wanted = [
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ];
    t.deepEqual(fs.readdirSync(snapshot).sort(), wanted);
    for (const name of wanted) {
      const file = tinyRepo.files.get(name);
      const link = path.join(snapshot, name);
      t.true(fs.lstatSync(link).isSymbolicLink(), name);
      const blobName = file.lfs ? file.sha256 : gitSha1(file.content); // sha256 for LFS, git blob sha1 otherwise
      t.is(fs.readlinkSync(link), path.join('..', '..', 'blobs', blobName));
      t.true(fs.readFileSync(link).equals(file.content), name);
    }
    t.deepEqual(
      fs.readdirSync(path.join(repoFolder, 'blobs')).filter((n) => n.endsWith('.incomplete')),
      []
    );
    t.deepEqual(missingModelFiles(snapshot), []);

    // The token went to the Hub, never to the CDN host the LFS redirect pointed at.
    t.true(hub.log.some((r) => r.headers.authorization === 'Bearer good-token'));
    t.true(cdn.log.length >= 2);
    t.true(cdn.log.every((r) => r.headers.authorization === undefined));
    t.true(hub.log.some((r) => r.url === `/api/models/Test/Tiny-Model/revision/main`));
    t.true(hub.log.some((r) => r.url === `/Test/Tiny-Model/resolve/${tinyRepo.sha}/model.safetensors`));

    const weights = tinyRepo.files.get('model.safetensors').content.length;
    const last = events.filter((e) => e.file === 'model.safetensors').pop();
    t.deepEqual(last, { file: 'model.safetensors', downloaded: weights, total: weights });
  }
);

test.serial('a second resolve uses the cache without any network, online or offline', async (t) => {
  const cache = tempDir('cache');
  const modelsDir = tempDir('models');
  await resolveModel('Test/Tiny-Model', { cacheDir: cache, endpoint: hub.url, modelsDir });
  const before = hubRequests();
  const again = await resolveModel('Test/Tiny-Model', { cacheDir: cache, endpoint: hub.url, modelsDir });
  t.is(again.source, 'cache');
  t.is(again.repoId, 'Test/Tiny-Model');
  t.is(again.dir, path.join(cache, 'models--Test--Tiny-Model', 'snapshots', tinyRepo.sha));
  // An unreachable endpoint and offline mode change nothing either.
  const unreachable = await resolveModel('Test/Tiny-Model', {
    cacheDir: cache,
    endpoint: await closedPortUrl(),
    modelsDir,
  });
  t.is(unreachable.source, 'cache');
  process.env.HF_HUB_OFFLINE = '1';
  process.env.HF_HUB_CACHE = cache;
  t.is((await resolveModel('Test/Tiny-Model', { modelsDir })).source, 'cache');
  t.is(hubRequests(), before);
});

test.serial('a connection dropped mid-file resumes with a Range request and appends the 206', async (t) => {
  const cache = tempDir('cache');
  const events = [];
  const cdnBefore = cdn.log.length;
  const result = await resolveModel('Test/Sharded-Model', {
    cacheDir: cache,
    endpoint: hub.url,
    modelsDir: tempDir('models'),
    onProgress: (p) => events.push(p),
  });
  t.is(result.source, 'download');
  const shard1 = 'model-00001-of-00002.safetensors';
  t.true(fs.readFileSync(path.join(result.dir, shard1)).equals(bytes.shard1));
  t.true(fs.readFileSync(path.join(result.dir, 'model-00002-of-00002.safetensors')).equals(bytes.shard2));
  t.true(fs.existsSync(path.join(result.dir, 'model.safetensors.index.json')));
  const key = sha256(bytes.shard1);
  const shardRequests = cdn.log.slice(cdnBefore).filter((r) => r.url.startsWith(`/repos/${key}`));
  t.is(shardRequests.length, 2);
  t.is(shardRequests[0].headers.range, undefined);
  t.is(shardRequests[1].headers.range, `bytes=${Math.floor(bytes.shard1.length / 2)}-`);
  const shardEvents = events.filter((e) => e.file === shard1);
  t.deepEqual(shardEvents.pop(), { file: shard1, downloaded: bytes.shard1.length, total: bytes.shard1.length });
  t.deepEqual(missingModelFiles(result.dir), []);
});

test.serial('a gated repo: 401 without a token names HF_TOKEN; HF_TOKEN succeeds and stays off the CDN', async (t) => {
  const cache = tempDir('cache');
  const options = { cacheDir: cache, endpoint: hub.url, modelsDir: tempDir('models') };
  const error = await t.throwsAsync(resolveModel('Test/Gated-Model', options), { instanceOf: ModelDownloadError });
  t.is(error.reason, 'auth');
  t.is(error.status, 401);
  t.is(error.repoId, 'Test/Gated-Model');
  t.regex(
    error.message,
    /Access to config\.json of Test\/Gated-Model on http:\/\/127\.0\.0\.1:\d+ was denied \(HTTP 401, gated repo\)/
  );
  t.regex(error.message, /set HF_TOKEN/);
  t.false(fs.existsSync(path.join(repoCacheFolder('Test/Gated-Model', cache), 'refs', 'main')));

  process.env.HF_TOKEN = 'wrong-token';
  const refused = await t.throwsAsync(resolveModel('Test/Gated-Model', options), { instanceOf: ModelDownloadError });
  t.regex(refused.message, /token given \(options\.token \/ HF_TOKEN\) was refused/);

  process.env.HF_TOKEN = 'good-token';
  const cdnBefore = cdn.log.length;
  const result = await resolveModel('Test/Gated-Model', options);
  t.is(result.source, 'download');
  t.true(fs.readFileSync(path.join(result.dir, 'model.safetensors')).equals(bytes.gatedWeights));
  const cdnRequests = cdn.log.slice(cdnBefore);
  t.true(cdnRequests.length > 0);
  t.true(cdnRequests.every((r) => r.headers.authorization === undefined));
  t.is(result.dir, path.join(repoCacheFolder('Test/Gated-Model', cache), 'snapshots', gatedRepo.sha));
});

test.serial('a file whose sha256 differs from the LFS etag is rejected and not kept', async (t) => {
  const cache = tempDir('cache');
  const error = await t.throwsAsync(
    resolveModel('Test/Corrupt-Model', { cacheDir: cache, endpoint: hub.url, modelsDir: tempDir('models') }),
    { instanceOf: ModelDownloadError }
  );
  t.is(error.reason, 'verify');
  t.regex(error.message, /model\.safetensors of Test\/Corrupt-Model .* is corrupt: Checksum mismatch/);
  t.regex(error.message, new RegExp(`expected ${sha256(Buffer.from('something else'))}`));
  const blobs = path.join(repoCacheFolder('Test/Corrupt-Model', cache), 'blobs');
  t.deepEqual(
    fs.readdirSync(blobs).filter((name) => name.length === 64 || name.endsWith('.incomplete')),
    []
  );
  t.false(fs.existsSync(path.join(repoCacheFolder('Test/Corrupt-Model', cache), 'refs', 'main')));
});

test.serial('an unknown repo is a ModelNotFoundError; a repo without safetensors is refused', async (t) => {
  const options = { cacheDir: tempDir('cache'), endpoint: hub.url, modelsDir: tempDir('models') };
  const missing = await t.throwsAsync(resolveModel('Test/Does-Not-Exist', options), { instanceOf: ModelNotFoundError });
  t.regex(missing.message, /^Test\/Does-Not-Exist was not found on http:\/\/127\.0\.0\.1:\d+ \(or it is private/);
  const noWeights = await t.throwsAsync(resolveModel('Test/No-Weights', options), { instanceOf: ModelDownloadError });
  t.regex(noWeights.message, /lacks safetensors weights/);
});

// ---- offline and network failures ----

test.serial('offline: a model not found locally says what to download and where to put it', async (t) => {
  const cache = tempDir('cache');
  const modelsDir = path.join(root, 'offline-models');
  process.env.HF_HUB_OFFLINE = 'true';
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_ENDPOINT = hub.url;
  const before = hubRequests();
  const error = await t.throwsAsync(resolveModel('Test/Tiny-Model', { modelsDir }), { instanceOf: ModelNotFoundError });
  t.is(
    error.message.split(' (copy that whole folder')[0],
    'Test/Tiny-Model is not available offline. Download it on a connected machine ' +
      `(\`hf download Test/Tiny-Model\` or from ${hub.url}/Test/Tiny-Model), then copy the folder to ` +
      `${path.join(modelsDir, 'Tiny-Model')} or into ${path.join(cache, 'models--Test--Tiny-Model')}`
  );
  t.is(error.repoId, 'Test/Tiny-Model');
  t.is(hubRequests(), before);

  // options.offline wins over the environment, both ways.
  delete process.env.HF_HUB_OFFLINE;
  await t.throwsAsync(resolveModel('Qwen/Qwen3-0.6B', { modelsDir, offline: true }), {
    instanceOf: ModelNotFoundError,
    message: /^Qwen\/Qwen3-0\.6B is not available offline\. .*hf download Qwen\/Qwen3-0\.6B/,
  });
  await t.throwsAsync(resolveModel('0.6B', { modelsDir, offline: true, kind: 'embedding' }), {
    message: /^Qwen\/Qwen3-Embedding-0\.6B is not available offline/,
  });
  t.is(hubRequests(), before);
});

test.serial('an unreachable endpoint gives a ModelDownloadError naming endpoint, repo, cause and fixes', async (t) => {
  const endpoint = await closedPortUrl();
  const started = Date.now();
  const error = await t.throwsAsync(
    resolveModel('Qwen/Qwen3-0.6B', { endpoint, cacheDir: tempDir('cache'), modelsDir: path.join(root, 'm') }),
    { instanceOf: ModelDownloadError }
  );
  t.true(Date.now() - started < 3000, 'a refused connection fails fast');
  t.is(error.reason, 'network');
  t.is(error.code, 'ECONNREFUSED');
  t.is(error.endpoint, endpoint);
  t.true(
    error.message.startsWith(`Could not download Qwen/Qwen3-0.6B from ${endpoint}: connection refused by 127.0.0.1:`)
  );
  t.regex(error.message, /Check HF_ENDPOINT \(now http:\/\/127\.0\.0\.1:\d+\), unset it for https:\/\/huggingface\.co/);
  t.regex(error.message, /set it to a mirror \(for example HF_ENDPOINT=https:\/\/hf-mirror\.com\)/);
  t.regex(error.message, /--offline/);
  t.notRegex(error.message, /\n\s+at /);
});

test.serial('a server that never answers times out with a ModelDownloadError', async (t) => {
  const hanging = await listen(() => {}); // accepts, never responds
  const error = await t.throwsAsync(
    resolveModel('Qwen/Qwen3-4B', {
      endpoint: hanging.url,
      cacheDir: tempDir('cache'),
      modelsDir: path.join(root, 'm'),
      timeoutMs: 200,
      retries: 0,
    }),
    { instanceOf: ModelDownloadError }
  );
  t.is(error.reason, 'network');
  t.regex(error.message, /^Could not download Qwen\/Qwen3-4B from http:\/\/127\.0\.0\.1:\d+: timed out talking to/);
  await closeServer(hanging.server);
});

// ---- local folders, ./models, tiny ----

test.serial('a folder with config.json is local; ./models/<name> serves repo ids and sizes', async (t) => {
  const folder = tempDir('local-model');
  fs.writeFileSync(path.join(folder, 'config.json'), '{}');
  t.deepEqual(await resolveModel(folder, { offline: true }), { dir: folder, source: 'local' });

  const modelsDir = tempDir('models');
  for (const name of ['Qwen3-0.6B', 'Qwen3-Embedding-0.6B', 'my-finetune']) {
    fs.mkdirSync(path.join(modelsDir, name));
    fs.writeFileSync(path.join(modelsDir, name, 'config.json'), '{}');
  }
  const options = { modelsDir, offline: true };
  t.deepEqual(await resolveModel('Qwen/Qwen3-0.6B', options), {
    dir: path.join(modelsDir, 'Qwen3-0.6B'),
    source: 'models',
  });
  t.is((await resolveModel('0.6B', options)).dir, path.join(modelsDir, 'Qwen3-0.6B'));
  t.is(
    (await resolveModel('0.6B', { ...options, kind: 'embedding' })).dir,
    path.join(modelsDir, 'Qwen3-Embedding-0.6B')
  );
  t.is((await resolveModel('my-finetune', options)).source, 'models');

  await t.throwsAsync(resolveModel('not-a-model', options), {
    instanceOf: ModelNotFoundError,
    message: /^"not-a-model" is not a model folder, .*\(which has: Qwen3-0\.6B, Qwen3-Embedding-0\.6B, my-finetune\)/,
  });
  await t.throwsAsync(resolveModel(path.join(root, 'nowhere'), options), {
    instanceOf: ModelNotFoundError,
    message: new RegExp(`^Model folder ${path.join(root, 'nowhere').replace(/[/\\]/g, '.')} does not exist`),
  });
});

test.serial('the hub cache location follows HF_HUB_CACHE, then HF_HOME', (t) => {
  t.is(hfCacheDir({ HF_HUB_CACHE: '/x/hub', HF_HOME: '/y' }), path.resolve('/x/hub'));
  t.is(hfCacheDir({ HF_HOME: '/y' }), path.resolve('/y/hub'));
  t.is(hfCacheDir({}), path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
  t.true(isRepoId('Qwen/Qwen3-0.6B'));
  t.false(isRepoId('Qwen3-0.6B'));
  t.false(isRepoId('a/b/c'));
  t.false(isRepoId('../etc'));
});

test.serial('tiny and tiny-embedding are generated once in the models folder', async (t) => {
  const modelsDir = tempDir('models');
  const tiny = await resolveModel('tiny', { modelsDir, offline: true });
  t.deepEqual(tiny, { dir: path.join(modelsDir, 'tiny'), source: 'local' });
  t.deepEqual(missingModelFiles(tiny.dir), []);
  const config = JSON.parse(fs.readFileSync(path.join(tiny.dir, 'config.json'), 'utf8'));
  t.deepEqual(config.architectures, ['Qwen3ForCausalLM']);
  const mtime = fs.statSync(path.join(tiny.dir, 'model.safetensors')).mtimeMs;
  await resolveModel('tiny', { modelsDir });
  t.is(fs.statSync(path.join(tiny.dir, 'model.safetensors')).mtimeMs, mtime);

  const embedding = await resolveModel('tiny-embedding', { modelsDir });
  t.is(embedding.dir, path.join(modelsDir, 'tiny-embedding'));
  t.deepEqual(JSON.parse(fs.readFileSync(path.join(embedding.dir, 'config.json'), 'utf8')).architectures, [
    'Qwen3Model',
  ]);
  t.is((await resolveModel('tiny', { modelsDir, kind: 'embedding' })).dir, embedding.dir);
  t.deepEqual(fs.readdirSync(modelsDir).sort(), ['tiny', 'tiny-embedding']);
});

test.serial('arguments are validated in the package format', async (t) => {
  await t.throwsAsync(resolveModel(42), {
    instanceOf: TypeError,
    message: 'Expected non-empty string for spec but received 42',
  });
  await t.throwsAsync(resolveModel('tiny', { ofline: true }), { message: /^Unknown key "ofline" in options/ });
  await t.throwsAsync(resolveModel('tiny', { kind: 'seq-cls' }), {
    message: 'Expected one of "causal", "embedding" for options.kind but received "seq-cls"',
  });
  await t.throwsAsync(resolveModel('Qwen/Qwen3-0.6B', { endpoint: 'ftp://x' }), {
    message: 'Expected http(s) URL for options.endpoint but received "ftp://x"',
  });
});

// ---- the download helper on its own ----

test.serial('downloadFile resumes a partial file left by an earlier process and verifies sha256', async (t) => {
  const content = randomBytes(100_000, 'resume');
  const key = sha256(content);
  cdn.blobs.set(key, content);
  const dest = path.join(tempDir('dl'), 'file.bin');
  fs.writeFileSync(`${dest}.incomplete`, content.subarray(0, 40_000));
  const before = cdn.log.length;
  const result = await downloadFile(`${cdn.url}/files/${key}`, dest, {
    expectedSha256: key,
    expectedSize: content.length,
  });
  t.is(result.resumedFrom, 40_000);
  t.is(result.sha256, key);
  t.is(cdn.log[before].headers.range, 'bytes=40000-');
  t.true(fs.readFileSync(dest).equals(content));
  t.false(fs.existsSync(`${dest}.incomplete`));

  const wrong = path.join(tempDir('dl'), 'wrong.bin');
  const error = await t.throwsAsync(
    downloadFile(`${cdn.url}/files/${key}`, wrong, { expectedSha256: '0'.repeat(64) }),
    {
      instanceOf: DownloadError,
    }
  );
  t.is(error.kind, 'verify');
  t.false(fs.existsSync(wrong));
  t.false(fs.existsSync(`${wrong}.incomplete`));
});

test.serial('downloadFile restarts when the server ignores Range after a dropped connection', async (t) => {
  const content = randomBytes(120_000, 'ignore-range');
  const key = sha256(content);
  cdn.blobs.set(key, content);
  cdn.dropOnce.add(key);
  cdn.ignoreRange.add(key);
  const dest = path.join(tempDir('dl'), 'file.bin');
  const seen = [];
  const result = await downloadFile(`${cdn.url}/files/${key}`, dest, {
    retryDelayMs: 10,
    onProgress: (d) => seen.push(d),
  });
  t.is(result.size, content.length);
  t.true(fs.readFileSync(dest).equals(content));
  t.is(seen[seen.length - 1], content.length);
  t.true(seen.lastIndexOf(0) > 0, 'progress restarted from 0');

  const missing = await t.throwsAsync(downloadFile(`${cdn.url}/files/nothing`, path.join(tempDir('dl'), 'x')), {
    instanceOf: DownloadError,
  });
  t.is(missing.kind, 'http');
  t.is(missing.status, 404);
  t.false(missing.retryable);
});

// ---- scripts/fetch-data.js ----

test.serial('scripts/fetch-data.js downloads a CSV and checks that the loader reads it', async (t) => {
  const csv =
    '\ufefflabel,review\r\n' +
    '1,今天天气真好[太阳]\r\n' +
    '0,"排队两小时, 结果卖完了[怒]"\r\n' +
    '1,"他说""值了""，我也觉得\n真的值"\r\n' +
    '0,"有\t制表符"\r\n';
  const body = Buffer.from(csv, 'utf8');
  const { server, url } = await listen((req, res) => {
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
  const out = tempDir('data');
  const script = path.join(ROOT, 'scripts', 'fetch-data.js');
  const run = (args) =>
    new Promise((resolve) => {
      execFile(process.execPath, [script, ...args], { env: { ...process.env, CI: 'true' } }, (error, stdout, stderr) =>
        resolve({ code: error ? error.code : 0, stdout, stderr })
      );
    });
  const first = await run([`${url}/weibo.csv`, '--out', out, '--sha256', sha256(body)]);
  t.is(first.code, 0, first.stderr);
  t.true(fs.readFileSync(path.join(out, 'weibo_senti_100k.csv')).equals(body));
  t.false(fs.existsSync(path.join(out, 'weibo_senti_100k.txt')));
  t.regex(first.stderr, /4 posts \(2 positive, 2 negative\)/);

  const bad = await run([`${url}/weibo.csv`, '--out', tempDir('data'), '--sha256', 'f'.repeat(64)]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /Download failed: Checksum mismatch/);
  await closeServer(server);

  const refused = await run([`${await closedPortUrl()}/weibo.csv`, '--out', tempDir('data')]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /Download failed: connection refused by 127\.0\.0\.1:\d+/);
  t.regex(refused.stderr, /HF_ENDPOINT=https:\/\/hf-mirror\.com/);
});
