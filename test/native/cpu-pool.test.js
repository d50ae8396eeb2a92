'use strict';
// The pooling CPU allocator (csrc/core/cpu_pool.h), which keeps a serving process's RSS flat: it is installed, reuses
// freed blocks for calls of changing shapes, keeps its cache under the cap, changes no result by a bit, and
// QWEN3_NATIVE_CPU_POOL sets the cap or turns it off (checked in child processes: the addon reads it as it loads).
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { loadNative, checkCpuPoolSetting } = require('../../dist/native');
const { ROOT, tmpDir, weiboLines, trainTinyLoraRun } = require('../helpers/util');

const root = tmpDir('q3n-pool-');
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

const lines = weiboLines(600);
const texts = lines.map((l) => l.slice(0, l.lastIndexOf('\t')));
const labels = lines.map((l) => Number(l.slice(l.lastIndexOf('\t') + 1)));
const run = path.join(root, 'run');
const textsFile = path.join(root, 'texts.json');

// Predicts `count` posts in calls of 1..64 (a fixed pattern, as a server's batches vary) in a fresh process with the
// given QWEN3_NATIVE_CPU_POOL; returns the probabilities and the pool's counters before and after.
function child(setting, count) {
  const script = `
    const { Predictor } = require(${JSON.stringify(path.join(ROOT, 'dist'))});
    const { loadNative } = require(${JSON.stringify(path.join(ROOT, 'dist', 'native'))});
    const texts = JSON.parse(require('fs').readFileSync(${JSON.stringify(textsFile)}, 'utf8'));
    (async () => {
      const native = loadNative();
      native.setNumThreads(1);
      const p = new Predictor({ checkpoint: ${JSON.stringify(run)}, device: 'cpu', dtype: 'float32' });
      await p.load();
      const probabilities = [];
      let warm;
      for (let done = 0, call = 0; done < ${count}; call++) {
        const size = Math.min(1 + ((call * 37) % 64), ${count} - done);
        const out = await p.predict(texts.slice(done % 500, (done % 500) + size));
        for (const o of out) probabilities.push(o.probabilities);
        done += size;
        if (warm === undefined && done >= ${count} / 2) warm = native.cpuPool();
      }
      p.dispose();
      process.stdout.write(JSON.stringify({ probabilities, warm, end: native.cpuPool() }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const env = { ...process.env };
  if (setting === undefined) delete env.QWEN3_NATIVE_CPU_POOL;
  else env.QWEN3_NATIVE_CPU_POOL = setting;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8', maxBuffer: 64 << 20 }));
}

test.before(async () => {
  fs.writeFileSync(textsFile, JSON.stringify(texts));
  await trainTinyLoraRun({
    base: path.join(root, 'base'),
    seed: 21,
    output: run,
    texts: texts.slice(0, 32),
    labels: labels.slice(0, 32),
    maxLength: 256,
  });
});

test("the pool is libtorch's CPU allocator in this process, within its cap", (t) => {
  const s = loadNative().cpuPool();
  t.true(s.installed);
  t.true(s.cached <= s.cacheLimit, JSON.stringify(s));
  t.true(s.inUse >= 0 && s.peakInUse >= s.inUse, JSON.stringify(s));
});

test("calls of changing shapes reuse freed blocks; results are bit-identical to glibc's allocator", (t) => {
  const pooled = child(undefined, 1000);
  const glibc = child('0', 1000);
  t.false(glibc.end.installed);
  const { warm, end } = pooled;
  t.true(end.installed);
  t.is(end.cacheLimit, 64 * 2 ** 20, 'the default cap');
  t.true(end.cached <= end.cacheLimit);
  // The second half maps few new blocks: what the first half freed serves it.
  const reused = end.reused - warm.reused;
  const mapped = end.mapped - warm.mapped;
  t.log(
    `second half: ${reused} blocks reused, ${mapped} mapped; peak in use ${(end.peakInUse / 2 ** 20).toFixed(1)} MB`
  );
  t.true(reused > 100 * Math.max(1, mapped), `reused ${reused}, mapped ${mapped}`);
  t.deepEqual(pooled.probabilities, glibc.probabilities);
});

test('QWEN3_NATIVE_CPU_POOL sets the cap, and the cache never holds more', (t) => {
  const small = child('1', 300);
  t.is(small.end.cacheLimit, 2 ** 20);
  t.true(small.end.cached <= 2 ** 20, JSON.stringify(small.end));
  t.true(small.end.released > 0, 'a 1 MB cap unmaps what it cannot keep');
});

test('a QWEN3_NATIVE_CPU_POOL that is not a number of MB, or one that overflows, is refused before the addon loads', (t) => {
  for (const ok of [undefined, '', '0', '64', '1024', String(2 ** 43 - 1)]) t.notThrows(() => checkCpuPoolSetting(ok));
  // From 2^43 MB the cap in bytes no longer fits the pool's signed 64-bit counters (2^44 wrapped the shift to 0).
  for (const bad of ['lots', '-1', '1.5', '64MB', ' 64', String(2 ** 43), '17592186044416', '99999999999999999999']) {
    const e = t.throws(() => checkCpuPoolSetting(bad));
    t.regex(e.message, /QWEN3_NATIVE_CPU_POOL is ".*": give the CPU pool's cache in MB/);
  }
});
