// Helpers shared by the benchmark cases: model shapes, generated weights, Weibo posts, the Python side, FLOP counts.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const PYTHON = process.env.BENCH_PYTHON || '/usr/bin/python3';
const DATA = process.env.BENCH_DATA || path.resolve(ROOT, '..', 'shared', 'data', 'weibo2018', 'train.txt');
/** generated weights, run folders and scratch files; never inside the repository */
const WORK = process.env.BENCH_WORK || path.join(os.tmpdir(), 'qwen3-native-bench');

function dist(module) {
  return require(path.join(ROOT, 'dist', module));
}

const SHAPES = {
  '0.6B': {
    hidden_size: 1024,
    intermediate_size: 3072,
    num_hidden_layers: 28,
    num_attention_heads: 16,
    num_key_value_heads: 8,
    head_dim: 128,
    tie_word_embeddings: true,
  },
  /** the package's own tiny layout, so the bench measures what `--model tiny` loads */
  tiny: dist('qwen3/tiny').TINY_QWEN3_DEFAULTS,
};

// Token ids and the LoRA defaults come from the package, so the bench runs what a user gets.
const TOKENS = dist('qwen3/tokens');
const PAD_ID = TOKENS.PAD_TOKEN_ID;
const LABEL_TOKENS = [TOKENS.NEGATIVE_TOKEN_ID, TOKENS.POSITIVE_TOKEN_ID]; // 负面, 正面
const END_TOKEN = TOKENS.IM_END_ID;
/** the Trainer's default LoRA (the schema's defaults) */
const LORA = dist('util/schema').defaultsOf(dist('train/schema').LoraOptionsSchema.properties);

function log(...args) {
  console.log(...args);
}

// ------------------------------------------------------------------------------------------------ numbers
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function fmt(x, digits = 1) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  if (typeof x !== 'number') return String(x);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
}
const pct = (x) => (x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const ratio = (x) => (x === undefined || Number.isNaN(x) || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}x`);

/** mulberry32: small seeded RNG for sampling posts */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffle(xs, seed) {
  const r = rng(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ------------------------------------------------------------------------------------------------ FLOPs
/** parameters of the decoder layers and final norm (what every token multiplies through; no embedding/lm_head) */
function nonEmbeddingParams(c) {
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const attn = c.hidden_size * (q + 2 * kv) + q * c.hidden_size + 2 * c.head_dim;
  const mlp = 3 * c.hidden_size * c.intermediate_size;
  return c.num_hidden_layers * (attn + mlp + 2 * c.hidden_size) + c.hidden_size;
}

/**
 * Forward FLOPs of sequences with these real lengths: 2 x non-embedding params per token, plus attention's
 * QK^T and PV over the full L x L square per head and layer (what eager attention computes): 4 * heads * hd * L^2.
 */
function forwardFlops(c, lengths) {
  const p = nonEmbeddingParams(c);
  let f = 0;
  for (const L of lengths) f += 2 * p * L + 4 * c.num_attention_heads * c.head_dim * L * L * c.num_hidden_layers;
  return f;
}

// ------------------------------------------------------------------------------------------------ data
let postsCache;
/** weibo2018 train.txt as {text, label} */
function loadPosts() {
  if (postsCache) return postsCache;
  const lines = fs
    .readFileSync(DATA, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  postsCache = lines.map((l) => {
    const tab = l.lastIndexOf('\t');
    return { text: l.slice(0, tab), label: Number(l.slice(tab + 1)) };
  });
  return postsCache;
}

function samplePosts(n, seed) {
  const posts = loadPosts();
  return shuffle(
    posts.map((_, i) => i),
    seed
  )
    .slice(0, Math.min(n, posts.length))
    .map((i) => posts[i]);
}

/** Sorted by length and cut into batches of `size` (what length-bucketed batching gives). */
function bucketed(seqs, size) {
  const sorted = [...seqs].sort((a, b) => a.length - b.length);
  const out = [];
  for (let i = 0; i < sorted.length; i += size) out.push(sorted.slice(i, i + size));
  return out;
}

/**
 * The batches both sides of a training benchmark take, as indices into `lengths`: `count` random batches of `batch`
 * (seed 3), and the Trainer's own length-bucketed plan (lib/train/data.ts planEpoch, seed 42; full batches only).
 */
function trainingBatches(lengths, batch, count) {
  const order = shuffle([...Array(lengths.length).keys()], 3);
  const random = [];
  for (let i = 0; i + batch <= lengths.length && random.length < count; i += batch)
    random.push(order.slice(i, i + batch));
  const bucketed = dist('train/data')
    .planEpoch(lengths, batch, 42, 0)
    .filter((b) => b.length === batch)
    .slice(0, count);
  return { random, bucketed };
}

/**
 * The Python side's training settings (bench/hf_peft.py, bench/train_eager.py): the same optimizer, seed, LoRA and
 * random batches (as token ids and labels) as ours.
 */
function pythonTrainingJob(method, seqs, labels, random) {
  return {
    method,
    weight_decay: 0.01,
    pad_id: PAD_ID,
    end_token: END_TOKEN,
    seed: 42,
    lora: { r: LORA.r, alpha: LORA.alpha, dropout: LORA.dropout, targets: LORA.targetModules },
    batches: random.map((b) => ({ ids: b.map((k) => seqs[k]), labels: b.map((k) => labels[k]) })),
  };
}

// ------------------------------------------------------------------------------------------------ processes
function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 20000) err = err.slice(-20000);
      process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${path.basename(args[0] || cmd)} ${signal ? `killed by ${signal}` : `exited with ${code}`}: ${lastLines(err, 4)}`
          )
        );
    });
  });
}

function lastLines(text, n) {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 600);
}

let jobCounter = 0;
/** Runs `cmd bench/<script> --job <json> --out <json>` in its own process; returns the parsed output. */
async function runJob(cmd, script, job, ctx) {
  const dir = path.join(WORK, 'jobs');
  fs.mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, `${process.pid}-${jobCounter++}-${path.basename(script).replace(/\.\w+$/, '')}`);
  fs.writeFileSync(
    `${stem}.job.json`,
    JSON.stringify({
      threads: ctx && ctx.threads,
      threadsOverride: ctx && ctx.threadsOverride,
      device: ctx && ctx.device,
      ...job,
    })
  );
  try {
    await run(cmd, [path.join(__dirname, script), '--job', `${stem}.job.json`, '--out', `${stem}.out.json`]);
    return JSON.parse(fs.readFileSync(`${stem}.out.json`, 'utf8'));
  } finally {
    fs.rmSync(`${stem}.job.json`, { force: true });
    fs.rmSync(`${stem}.out.json`, { force: true });
  }
}

/** The Python side (bench/*.py). */
const runPython = (script, job, ctx) => runJob(PYTHON, script, job, ctx);
/** A node helper in its own process, so its memory (glibc arenas keep freed blocks) is gone when it ends. */
const runNode = (script, job, ctx) => runJob(process.execPath, script, job, ctx);

/** Peak and current resident memory of this process, bytes. */
function memoryStatus() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`${k}:\\s*(\\d+)`)) || [])[1]) * 1024;
  return { vmHWM: kb('VmHWM'), vmRSS: kb('VmRSS') };
}

// ------------------------------------------------------------------------------------------------ weights
const WEIGHTS_VERSION = 1;
/** A random-weight checkpoint of `shape` ('0.6B' | 'tiny') and kind ('causal' | 'embedding'), generated once per run. */
async function ensureWeights(shape, kind, dtype = 'bfloat16') {
  const dir = path.join(WORK, 'weights', `${shape}-${kind}-${dtype}`);
  const stamp = path.join(dir, '.complete');
  const want = JSON.stringify({ v: WEIGHTS_VERSION, config: SHAPES[shape] });
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const tokenizerDir = path.dirname(
    require(path.join(ROOT, 'dist', 'qwen3', 'tokenizer')).qwen3TokenizerFiles().tokenizerJson
  );
  log(`  generating ${shape} ${kind} weights (${dtype}) in ${dir}`);
  const t = Date.now();
  await run(PYTHON, [
    path.join(__dirname, 'gen_weights.py'),
    '--dir',
    dir,
    '--kind',
    kind,
    '--dtype',
    dtype,
    '--seed',
    '0',
    '--config',
    JSON.stringify(SHAPES[shape]),
    '--tokenizer-dir',
    tokenizerDir,
  ]);
  fs.writeFileSync(stamp, want);
  log(`  generated in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return dir;
}

function modelConfig(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
}

/** What Classifier.init needs about a checkpoint folder. */
async function nativeBase(dir) {
  return {
    files: await dist('qwen3/folder').weightFiles(dir),
    config: (await dist('qwen3/config').readQwen3Config(dir)).native,
  };
}

/** A run folder of `method` (default lora) trained for a few steps with the Trainer (created once per shape and
 * reused): 16 posts, one epoch of batch 8. */
async function ensureRun(shape, ctx, method = 'lora') {
  const out = path.join(WORK, 'runs', method === 'lora' ? `lora-${shape}` : `${method}-${shape}`);
  if (fs.existsSync(path.join(out, 'run.json'))) return out;
  const base = await ensureWeights(shape, method === 'embedding' ? 'embedding' : 'causal');
  const { Trainer } = dist('index');
  const posts = samplePosts(40, 7);
  const train = { texts: posts.slice(0, 32).map((p) => p.text), labels: posts.slice(0, 32).map((p) => p.label) };
  const evalData = { texts: posts.slice(32).map((p) => p.text), labels: posts.slice(32).map((p) => p.label) };
  fs.rmSync(out, { recursive: true, force: true });
  const trainer = new Trainer({
    method,
    model: base,
    output: out,
    epochs: 1,
    maxSamples: 16,
    batchSize: 8,
    device: ctx.device,
    // full trains in float32 (its weights are the run)
    dtype: method === 'full' ? 'float32' : 'bfloat16',
    seed: 1,
    cacheDir: path.join(WORK, 'cache'),
  });
  trainer.on('progress', (p) =>
    log(`  ${method} run ${shape}: step ${p.step}/${p.totalSteps}, loss ${p.loss.toFixed(3)}`)
  );
  await trainer.train(train, { evalData });
  return out;
}
const ensureLoraRun = (shape, ctx) => ensureRun(shape, ctx, 'lora');

/** Timing of an async function, in seconds. */
async function timed(fn) {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - t) / 1e9 };
}

/** Training sequences of the bench's posts for `method`, encoded as the Trainer encodes them (CPU and GPU cases). */
async function encodeForTraining(method, posts) {
  const { Qwen3Tokenizer } = dist('index');
  const { ExampleEncoder } = dist('classifier/encoding');
  const { DEFAULT_LORA_PROMPT } = dist('classifier/methods');
  const enc = new ExampleEncoder(await Qwen3Tokenizer.bundled(), {
    method,
    maxLength: 256,
    prompt: DEFAULT_LORA_PROMPT,
    labelTokens: LABEL_TOKENS,
  });
  const flat = await enc.encodeForTraining(
    posts.map((p) => p.text),
    posts.map((p) => p.label)
  );
  return dist('qwen3/sequences').toNested(flat);
}

function errorText(e) {
  return (e && e.message ? e.message : String(e)).split('\n')[0].slice(0, 300);
}

module.exports = {
  ROOT,
  PYTHON,
  DATA,
  WORK,
  SHAPES,
  PAD_ID,
  LABEL_TOKENS,
  END_TOKEN,
  LORA,
  dist,
  log,
  sum,
  median,
  fmt,
  pct,
  ratio,
  rng,
  shuffle,
  nonEmbeddingParams,
  forwardFlops,
  loadPosts,
  samplePosts,
  bucketed,
  trainingBatches,
  pythonTrainingJob,
  run,
  runPython,
  runNode,
  memoryStatus,
  ensureWeights,
  modelConfig,
  nativeBase,
  ensureLoraRun,
  ensureRun,
  timed,
  errorText,
  encodeForTraining,
};
