'use strict';
// The fault catalogue's damaged model folders: truncated and corrupt safetensors, bad
// config values (zero, negative, huge, wrong type, null), missing shards, a shard with the wrong tensors, a named pipe
// or a directory where a file should be. Each must end in a clear error - no stack trace, no native crash, no hang -
// through the public API (Qwen3Model.load, Predictor), through the core on its own (what lib/ would refuse, sent
// anyway), and through the CLI. The loads run in child processes (helpers/child-cases.js), so a crash or a hang is
// reported as one instead of taking this test down.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { createTinyQwen3, Trainer } = require('../../dist');
const { readQwen3Config } = require('../../dist/qwen3/config');
const { qwen3TokenizerFiles } = require('../../dist/qwen3/tokenizer');
const { runCases } = require('../helpers/child-cases');
const { ROOT, tmpDir, copyDir, fixtureModel, weiboLines } = require('../helpers/util');

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const CHILD = path.join(__dirname, '..', 'helpers', 'load-child.js');
// Generous: the first case of a child also starts the addon and reads the tokenizer (10-20 s on a loaded machine); a
// folder that hangs never answers at all.
const CASE_TIMEOUT_MS = 120_000;

const root = tmpDir('q3n-faults-');
const good = path.join(root, 'good');
const sharded = path.join(root, 'sharded');

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// --- ways to damage a folder ---------------------------------------------------------------------------------------
const patchConfig = (patch) => (dir) => {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ ...readJson(file), ...patch }));
};
const configText = (text) => (dir) => fs.writeFileSync(path.join(dir, 'config.json'), text);
const remove = (name) => (dir) => fs.rmSync(path.join(dir, name), { recursive: true, force: true });
const fifo = (name) => (dir) => {
  remove(name)(dir);
  execFileSync('mkfifo', [path.join(dir, name)]);
};
const directory = (name) => (dir) => {
  remove(name)(dir);
  fs.mkdirSync(path.join(dir, name));
};
const truncate = (name, bytes) => (dir) => {
  const file = path.join(dir, name);
  fs.truncateSync(file, typeof bytes === 'function' ? bytes(fs.statSync(file).size) : bytes);
};
/** Overwrites bytes at an offset (negative: from the end of the header). */
const overwrite = (name, at, bytes) => (dir) => {
  const file = path.join(dir, name);
  const buf = fs.readFileSync(file);
  const headerEnd = 8 + Number(buf.readBigUInt64LE(0));
  Buffer.from(bytes).copy(buf, at < 0 ? headerEnd + at : at);
  fs.writeFileSync(file, buf);
};
/** Replaces text inside the JSON header with text of the same length (offsets stay right). */
const headerText = (name, from, to) => (dir) => {
  const file = path.join(dir, name);
  const buf = fs.readFileSync(file);
  const headerEnd = 8 + Number(buf.readBigUInt64LE(0));
  const header = buf.subarray(8, headerEnd).toString('latin1');
  if (from.length !== to.length || !header.includes(from)) throw new Error(`cannot replace ${from} in ${file}`);
  Buffer.from(header.replace(from, to), 'latin1').copy(buf, 8);
  fs.writeFileSync(file, buf);
};
const patchIndex = (edit) => (dir) => {
  const file = path.join(dir, 'model.safetensors.index.json');
  fs.writeFileSync(file, JSON.stringify(edit(readJson(file))));
};
const both =
  (...edits) =>
  (dir) =>
    edits.forEach((edit) => edit(dir));

// --- the catalogue: [name, base folder, damage, what the error must say] ------------------------------------------
const W = 'model.safetensors';
const SHARD2 = 'model-00002-of-00002.safetensors';
const FOLDERS = [
  [
    'num_hidden_layers 1e8',
    'good',
    patchConfig({ num_hidden_layers: 1e8 }),
    /num_hidden_layers is 100000000 but the weights hold 2 layers/,
  ],
  [
    'num_hidden_layers 3',
    'good',
    patchConfig({ num_hidden_layers: 3 }),
    /num_hidden_layers is 3 but the weights hold 2 layers/,
  ],
  ['hidden_size 0', 'good', patchConfig({ hidden_size: 0 }), /hidden_size must be a positive integer but is 0/],
  ['hidden_size -64', 'good', patchConfig({ hidden_size: -64 }), /hidden_size must be a positive integer but is -64/],
  [
    'hidden_size 1e300',
    'good',
    patchConfig({ hidden_size: 1e300 }),
    /hidden_size must be a positive integer but is 1e\+300/,
  ],
  [
    'hidden_size "64"',
    'good',
    patchConfig({ hidden_size: '64' }),
    /hidden_size must be a positive integer but is "64"/,
  ],
  [
    'intermediate_size null',
    'good',
    patchConfig({ intermediate_size: null }),
    /intermediate_size must be a positive integer but is null/,
  ],
  [
    'intermediate_size 1e9',
    'good',
    patchConfig({ intermediate_size: 1e9 }),
    /gate_proj.weight' has shape \[128, 64\] but config.json's intermediate_size \(1000000000\)/,
  ],
  [
    'num_attention_heads 8',
    'good',
    patchConfig({ num_attention_heads: 8 }),
    /q_proj.weight' has shape \[64, 64\] but config.json's num_attention_heads x head_dim \(8 x 16\)/,
  ],
  [
    'num_key_value_heads null',
    'good',
    patchConfig({ num_key_value_heads: null }),
    /k_proj.weight' has shape \[32, 64\] but config.json's num_key_value_heads x head_dim \(4 x 16\)/,
  ],
  ['head_dim 15', 'good', patchConfig({ head_dim: 15 }), /head_dim must be an even integer, found 15/],
  [
    'rms_norm_eps "x" and layers 0',
    'good',
    patchConfig({ rms_norm_eps: 'x', num_hidden_layers: 0 }),
    /num_hidden_layers must be a positive integer but is 0; rms_norm_eps must be a positive number/,
  ],
  ['vocab_size 999', 'good', patchConfig({ vocab_size: 999 }), /vocab_size is 999 but embed_tokens has 512 rows/],
  [
    'tie_word_embeddings false',
    'good',
    patchConfig({ tie_word_embeddings: false }),
    /tie_word_embeddings false but no file holds 'lm_head.weight'/,
  ],
  ['config null', 'good', configText('null'), /config.json: expected a JSON object \(\{\.\.\.\}\) but found null/],
  [
    'config truncated',
    'good',
    configText('{"hidden_size": 64, "num_hid'),
    /config.json: it is not valid JSON .*truncated/,
  ],
  ['config missing', 'good', remove('config.json'), /config.json not found/],
  ['config a named pipe', 'good', fifo('config.json'), /config.json is a named pipe, not a regular file/],
  ['config a directory', 'good', directory('config.json'), /config.json is a directory, not a regular file/],
  ['tokenizer a named pipe', 'good', fifo('tokenizer.json'), /tokenizer.json is a named pipe/],
  ['tokenizer a directory', 'good', directory('tokenizer.json'), /tokenizer.json is a directory/],
  [
    'tokenizer garbage',
    'good',
    (dir) => {
      remove('tokenizer.json')(dir);
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": 42}');
    },
    /Could not read tokenizer file/,
  ],
  ['weights a named pipe', 'good', fifo(W), /model.safetensors is a named pipe, not a regular file/],
  ['weights a directory', 'good', directory(W), /model.safetensors is a directory, not a regular file/],
  ['weights truncated to half', 'good', truncate(W, (n) => Math.floor(n / 2)), /truncated: the data ends at byte \d+/],
  ['weights truncated to 5 bytes', 'good', truncate(W, 5), /shorter than the 8-byte header length/],
  ['weights empty', 'good', truncate(W, 0), /file is 0 bytes/],
  [
    'weights header length huge',
    'good',
    overwrite(W, 0, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    /header length \d+ does not fit/,
  ],
  ['weights header corrupt', 'good', overwrite(W, 8, '['), /header is not UTF-8 JSON/],
  ['weights header not UTF-8', 'good', headerText(W, '"F32"', '"\xff32"'), /header is not UTF-8 JSON/],
  ['weights dtype I32', 'good', headerText(W, '"F32"', '"I32"'), /is stored as I32; expected F32, BF16 or F16/],
  ['weights dtype unknown', 'good', headerText(W, '"F32"', '"Q32"'), /has no known dtype/],
  [
    'shard missing',
    'sharded',
    remove(SHARD2),
    /names shards that are missing from .*: model-00002-of-00002.safetensors/,
  ],
  [
    'shard with the wrong tensors',
    'sharded',
    (dir) => fs.copyFileSync(path.join(dir, 'model-00001-of-00002.safetensors'), path.join(dir, SHARD2)),
    /is in both .*model-00001-of-00002.safetensors and .*model-00002-of-00002.safetensors/,
  ],
  ['shard a named pipe', 'sharded', fifo(SHARD2), /model-00002-of-00002.safetensors is a named pipe/],
  [
    'index a named pipe',
    'sharded',
    fifo('model.safetensors.index.json'),
    /model.safetensors.index.json is a named pipe/,
  ],
  [
    'index without weight_map',
    'sharded',
    patchIndex(() => ({ metadata: {} })),
    /"weight_map" should be an object but is missing/,
  ],
  [
    'index outside the folder',
    'sharded',
    patchIndex((i) => ({ ...i, weight_map: { ...i.weight_map, 'norm.weight': '../x.safetensors' } })),
    /must name shard files in the same folder/,
  ],
  [
    'index misplaces a tensor',
    'sharded',
    patchIndex((i) => {
      const inFirst = Object.keys(i.weight_map).find((name) => i.weight_map[name] !== SHARD2);
      return { ...i, weight_map: { ...i.weight_map, [inFirst]: SHARD2 } };
    }),
    /puts '.*' in model-00002-of-00002.safetensors, which does not hold it/,
  ],
];

// What lib/ refuses, sent to the core anyway: its own checks must name the tensor, the file and the config key.
const NATIVE = [
  // Past 2^24 a count is refused on sight; below it, against the layers the files hold.
  ['layers 1e8', { num_hidden_layers: 1e8 }, /num_hidden_layers is 100000000, more than 16777216/],
  [
    'layers 1000',
    { num_hidden_layers: 1000 },
    /config.json's num_hidden_layers is 1000 but .*model.safetensors hold 2 layers/,
  ],
  ['layers 1', { num_hidden_layers: 1 }, /config.json's num_hidden_layers is 1 but .*model.safetensors hold 2 layers/],
  ['layers 1e20', { num_hidden_layers: 1e20 }, /num_hidden_layers is not an integer below 2\^53/],
  [
    'hidden_size 32',
    { hidden_size: 32 },
    /model.safetensors: tensor 'model.embed_tokens.weight' has shape \[512, 64\] but config.json's hidden_size \(32\) give \[512, 32\]/,
  ],
  [
    'intermediate_size 1e6',
    { intermediate_size: 1e6 },
    /'model.layers.0.mlp.gate_proj.weight' has shape \[128, 64\] but config.json's intermediate_size \(1000000\)/,
  ],
  ['hidden_size 1e8', { hidden_size: 1e8 }, /hidden_size is 100000000, more than 16777216/],
  ['heads 0', { num_attention_heads: 0 }, /num_attention_heads must be positive/],
];
const NATIVE_FILES = [
  ['a named pipe', fifo(W), /model.safetensors: not a regular file \(a named pipe\)/],
  ['a directory', directory(W), /model.safetensors: not a regular file \(a directory\)/],
  ['truncated', truncate(W, (n) => n - 1), /data ends at byte .* \(truncated file\?\)/],
];

const CLEAR = (t, name, outcome, expected) => {
  t.is(outcome.status, 'done', `${name}: ${outcome.status} ${outcome.detail ?? ''}`);
  if (outcome.status !== 'done') return;
  const r = outcome.result;
  t.false(r.ok, `${name}: loaded without an error`);
  if (r.ok) return;
  t.true(r.isError, `${name}: rejected with a non-Error ${r.message}`);
  t.regex(r.message, expected, name);
  t.notRegex(r.message, /\n\s+at |std::|c10::|Exception raised from|unknown native error/, `${name}: ${r.message}`);
};

const folders = {};
let run;

test.before(async () => {
  // A small vocabulary keeps each load to a few hundred KB; tokenizer.json is a link to the real one (one read per
  // child: tokenizers are shared by file identity).
  await createTinyQwen3(good, { seed: 5, config: { vocab_size: 512 } });
  fs.rmSync(path.join(good, 'tokenizer.json'));
  fs.symlinkSync(qwen3TokenizerFiles().tokenizerJson, path.join(good, 'tokenizer.json'));
  copyDir(fixtureModel('tiny-sharded-f32-gqa2'), sharded);
  fs.symlinkSync(qwen3TokenizerFiles().tokenizerJson, path.join(sharded, 'tokenizer.json'));
  const bases = { good, sharded };
  for (const [name, base, damage] of FOLDERS) {
    const dir = path.join(root, name.replace(/[^a-z0-9]+/gi, '-'));
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(bases[base])) {
      const from = path.join(bases[base], f);
      if (fs.lstatSync(from).isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), path.join(dir, f));
      else fs.copyFileSync(from, path.join(dir, f));
    }
    damage(dir);
    folders[name] = dir;
  }
});

test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

test('a healthy folder loads (the catalogue damages copies of it)', async (t) => {
  const results = await runCases(CHILD, ['good', 'sharded'], {
    shared: { targets: { good: { via: 'model', dir: good }, sharded: { via: 'model', dir: sharded } } },
    timeoutMs: CASE_TIMEOUT_MS,
  });
  for (const name of ['good', 'sharded']) t.deepEqual(results.get(name), { status: 'done', result: { ok: true } });
});

test('Qwen3Model.load: every damaged folder is a clear error (no crash, no hang)', async (t) => {
  const targets = Object.fromEntries(FOLDERS.map(([name]) => [name, { via: 'model', dir: folders[name] }]));
  const results = await runCases(CHILD, Object.keys(targets), {
    shared: { targets },
    timeoutMs: CASE_TIMEOUT_MS,
    parallel: 2,
  });
  for (const [name, , , expected] of FOLDERS) CLEAR(t, name, results.get(name), expected);
});

test('the core refuses a config that disagrees with the weights before it allocates, and non-regular files', async (t) => {
  const { native: config } = await readQwen3Config(good);
  const files = [path.join(good, W)];
  const targets = {};
  for (const [name, patch] of NATIVE)
    targets[name] = { via: 'native', request: { files, config: { ...config, ...patch } } };
  for (const [name, damage] of NATIVE_FILES) {
    const dir = copyDir(good, path.join(root, `native-${name.replace(/ /g, '-')}`));
    damage(dir);
    targets[name] = { via: 'native', request: { files: [path.join(dir, W)], config } };
  }
  const results = await runCases(CHILD, Object.keys(targets), { shared: { targets }, timeoutMs: CASE_TIMEOUT_MS });
  for (const [name, , expected] of [...NATIVE, ...NATIVE_FILES]) {
    CLEAR(t, name, results.get(name), new RegExp(`^load: .*${expected.source}`));
  }
});

// Predictor and CLI: a trained run served over a damaged base model (--model overrides the recorded one).
const THROUGH_RUN = [
  'num_hidden_layers 1e8',
  'config a named pipe',
  'weights a named pipe',
  'weights truncated to half',
  'shard with the wrong tensors',
];

async function trainRun() {
  run ??= (async () => {
    const base = path.join(root, 'base-full-vocab');
    await createTinyQwen3(base, { seed: 5 });
    const lines = weiboLines(16);
    const out = path.join(root, 'run');
    await new Trainer({
      method: 'lora',
      model: base,
      output: out,
      device: 'cpu',
      dtype: 'float32',
      epochs: 1,
      batchSize: 8,
      maxLength: 24,
      cacheDir: tmpDir(),
    }).train({
      texts: lines.map((l) => l.slice(0, l.lastIndexOf('\t'))),
      labels: lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1))),
    });
    return out;
  })();
  return run;
}

test('Predictor: a run over a damaged base model is a clear error', async (t) => {
  const runDir = await trainRun();
  const targets = Object.fromEntries(
    THROUGH_RUN.map((name) => [name, { via: 'predictor', run: runDir, dir: folders[name] }])
  );
  const results = await runCases(CHILD, THROUGH_RUN, { shared: { targets }, timeoutMs: CASE_TIMEOUT_MS });
  for (const name of THROUGH_RUN) {
    const [, , , expected] = FOLDERS.find(([n]) => n === name);
    // The CLI and Predictor find a folder through the hub resolver first, which names a non-regular file as missing.
    CLEAR(t, name, results.get(name), new RegExp(`${expected.source}|lacks config.json|model.safetensors`));
  }
});

test('CLI: predict and train over damaged folders end with one error line (exit 1, no stack), never hang', async (t) => {
  const runDir = await trainRun();
  const cli = (args) =>
    spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      timeout: CASE_TIMEOUT_MS,
      cwd: root,
      env: { ...process.env, QWEN3_NATIVE_DEBUG: '' },
    });
  for (const name of THROUGH_RUN) {
    const [, , , expected] = FOLDERS.find(([n]) => n === name);
    for (const args of [
      ['predict', '--checkpoint', runDir, '--model', folders[name], '--device', 'cpu', '--text', '今天天气真好'],
      [
        'train',
        '--method',
        'lora',
        '--model',
        folders[name],
        '--output',
        path.join(root, 'cli-out'),
        '--epochs',
        '1',
        '--device',
        'cpu',
      ],
    ]) {
      const r = cli(args);
      const what = `${args[0]} ${name}`;
      t.is(r.signal, null, `${what}: killed (${r.signal}): a hang`);
      t.is(r.status, 1, `${what}: exit ${r.status}\n${r.stderr}`);
      t.regex(r.stderr, /^error: /m, what);
      t.regex(r.stderr, new RegExp(`${expected.source}|lacks|model.safetensors`), what);
      t.notRegex(r.stderr, /\n\s+at |std::|Exception raised from/, `${what}: ${r.stderr}`);
    }
  }
});

test('an output folder under /proc, /sys or /dev, or with a file in its way, is refused at once', (t) => {
  // `train --output /proc/x` looped forever: Node's recursive mkdir retries a parent /proc says is missing.
  for (const output of ['/proc/x', '/sys/x/y', '/dev/qwen3-run']) {
    t.throws(() => new Trainer({ method: 'lora', output }), {
      instanceOf: RangeError,
      message: new RegExp(`^output: ${output} is under /(proc|sys|dev), which the kernel serves`),
    });
  }
  const link = path.join(root, 'link-to-proc');
  fs.symlinkSync('/proc', link);
  t.throws(() => new Trainer({ method: 'lora', output: path.join(link, 'x') }), { message: /is under \/proc/ });
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, '');
  t.throws(() => new Trainer({ method: 'lora', output: file }), { message: /exists and is not a folder/ });
  t.throws(() => new Trainer({ method: 'lora', output: path.join(file, 'run') }), {
    message: /a-file is not a folder, so .* cannot be created inside it/,
  });
  t.notThrows(() => new Trainer({ method: 'lora', output: path.join(root, 'new', 'run') }));
  const r = spawnSync(process.execPath, [CLI, 'train', '--method', 'lora', '--model', 'tiny', '--output', '/proc/x'], {
    encoding: 'utf8',
    timeout: CASE_TIMEOUT_MS,
    cwd: root,
  });
  t.is(r.signal, null, 'train --output /proc/x was killed: it hung');
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /^error: output: \/proc\/x is under \/proc/m);
});
