'use strict';
// The safetensors header parsers under fire: thousands of damaged files (helpers/safetensors-mutants.js)
// opened by lib's reader and by the core's loader in child processes, so that a crash or a hang is seen, not suffered.
// Zero crashes, zero hangs, and every rejection a clear error: an Error naming the file, nothing from the C++ runtime
// (std::, c10::) in it. Whatever the core loads, lib's reader must accept too.
//   QWEN3_FUZZ_CASES=20000 npx ava test/qwen3/safetensors-fuzz.test.js    (default 300; `npm run test:long` runs 5,600,
//                                                                           about a minute on 2 cores)
//   QWEN3_FUZZ_SEED=7 ...                                            (another sequence of cases)
//   QWEN3_FUZZ_ONLY=1234 ...                                          (replay one case)
// Then the parser's known weak spots, one test each (they failed before the fix: the old core loaded all three).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { createTinyQwen3 } = require('../../dist');
const { loadNative } = require('../../dist/native');
const { readQwen3Config } = require('../../dist/qwen3/config');
const { runCases } = require('../helpers/child-cases');
const { KINDS } = require('../helpers/safetensors-mutants');
const { tmpDir } = require('../helpers/util');

const CASES = Number(process.env.QWEN3_FUZZ_CASES || 300);
const SEED = Number(process.env.QWEN3_FUZZ_SEED || 15);
const ONLY = process.env.QWEN3_FUZZ_ONLY;
const CHILD = path.join(__dirname, '..', 'helpers', 'fuzz-child.js');
// Per case, generous: the first case of each child starts the addon (seconds on a loaded machine); others take ms.
const CASE_TIMEOUT_MS = 60_000;
// What the C++ runtime would leak into a message that nobody wrote for a user.
const INTERNALS = /std::|c10::|basic_string|vector::|bad_alloc|Exception raised from|unknown native error|\n\s+at /;

const dir = tmpDir('q3n-fuzz-model-');
let config;
const valid = path.join(dir, 'model.safetensors');

test.before(async () => {
  // 1 layer, 256-word vocabulary: a healthy load takes milliseconds, so thousands of cases fit in minutes.
  await createTinyQwen3(dir, {
    seed: 3,
    config: {
      vocab_size: 256,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      max_window_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      head_dim: 16,
    },
  });
  config = (await readQwen3Config(dir)).native;
});

test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

test(`fuzz: ${ONLY ? `case ${ONLY}` : `${CASES} damaged safetensors files`}: no crash, no hang, every rejection a clear error`, async (t) => {
  const started = Date.now();
  const cases = ONLY ? [Number(ONLY)] : Array.from({ length: CASES }, (_, i) => i);
  const results = await runCases(CHILD, cases, {
    shared: { seed: SEED, valid, config },
    timeoutMs: CASE_TIMEOUT_MS,
    parallel: 2,
  });
  const failures = [];
  const tally = Object.fromEntries(KINDS.map((k) => [k, { loaded: 0, rejected: 0, tsAccepted: 0 }]));
  for (const index of cases) {
    const r = results.get(String(index));
    if (!r || r.status !== 'done') {
      failures.push(`case ${index}: ${r ? `${r.status}: ${r.detail}` : 'no result'}`);
      continue;
    }
    const { kind, file, ts, native } = r.result;
    tally[kind][native.ok ? 'loaded' : 'rejected']++;
    if (ts.ok) tally[kind].tsAccepted++;
    const clear = (who, o) => {
      if (o.ok) return;
      if (!o.isError) failures.push(`case ${index} (${kind}): ${who} rejected with a non-Error: ${o.message}`);
      else if (!o.message.includes(file))
        failures.push(`case ${index} (${kind}): ${who}'s error does not name the file: ${o.message}`);
      else if (INTERNALS.test(o.message))
        failures.push(`case ${index} (${kind}): ${who}'s error leaks internals: ${o.message}`);
    };
    clear('lib', ts);
    clear('core', native);
    if (!native.ok && !native.message.startsWith('load: '))
      failures.push(`case ${index}: core error without its operation: ${native.message}`);
    if (native.ok && !ts.ok)
      failures.push(`case ${index} (${kind}): the core loaded a file lib's reader refuses: ${ts.message}`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.log(`${cases.length} cases (seed ${SEED}) in ${seconds} s; by kind (core loaded / rejected, lib accepted):`);
  for (const [kind, n] of Object.entries(tally)) t.log(`  ${kind}: ${n.loaded} / ${n.rejected}, ${n.tsAccepted}`);
  t.deepEqual(failures.slice(0, 20), [], `${failures.length} failures`);
});

// --- the known weak spots, through the core's loader ----------------------------------------------------------------

/** The valid file with its JSON header edited by `edit` (the length prefix follows). */
function edited(name, edit) {
  const bytes = fs.readFileSync(valid);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = Buffer.from(edit(bytes.subarray(8, 8 + length).toString('utf8')), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  const file = path.join(dir, `${name}.safetensors`);
  fs.writeFileSync(file, Buffer.concat([prefix, header, bytes.subarray(8 + length)]));
  return file;
}

async function coreLoads(file) {
  const engine = new (loadNative().Engine)();
  try {
    await engine.load({ files: [file], config, device: 'cpu', dtype: 'float32', mapEmbeddings: 'never' });
  } finally {
    engine.dispose();
  }
}

/** An extra (unused) tensor entry at the front of the header. */
const withEntry = (key, entry) => (text) => `{${key}:${entry},${text.slice(1)}`;

test('the valid file loads (the weak-spot files below are edits of it)', async (t) => {
  await t.notThrowsAsync(coreLoads(edited('unchanged', (text) => text)));
});

test('a number that goes on after a valid prefix (4.0.0) is malformed JSON, not 4', async (t) => {
  // The old parser scanned [0-9.eE+-]* and handed it to stod, which stopped at the second '.': 4.0.0 read as 4.
  const file = edited('number', (text) => text.replace(/("data_offsets":\[\d+,)(\d+)\]/, '$1$2.0.0]'));
  await t.throwsAsync(coreLoads(file), { message: /^load: .*number\.safetensors: .*malformed number '\d+\.0\.0'/ });
});

test('a high surrogate followed by a \\u escape that is not a low surrogate is refused', async (t) => {
  // The old parser combined them anyway: "\ud800\u0041" became a garbage code point in the tensor's name.
  const file = edited('surrogate', withEntry('"w\\ud800\\u0041"', '{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'));
  await t.throwsAsync(coreLoads(file), { message: /surrogate\.safetensors: .*not a low surrogate/ });
});

test('a shape whose byte count overflows 64 bits is refused before the offsets check', async (t) => {
  // 2^32 x 2^32 elements x 4 bytes wrapped to 0 and matched data_offsets [0, 0].
  const file = edited(
    'overflow',
    withEntry('"w"', '{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}')
  );
  await t.throwsAsync(coreLoads(file), {
    message: /overflow\.safetensors: tensor 'w': .*overflows 64-bit byte counts/,
  });
});
