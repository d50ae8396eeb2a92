'use strict';
// Devices: 'auto' | 'cpu' | 'cuda' | 'cuda:N' parsed and checked in TypeScript, the core's own parsing, and device
// placement checked without a GPU: the core runs whole calls on libtorch's "meta" device (shapes, no data), where a
// tensor created on the CPU that meets a model tensor in an elementwise op throws, as it would on CUDA.
const test = require('ava');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { Qwen3Model, Predictor, parseDevice, resolveDeviceAndDtype, runtimeInfo } = require('../dist');
const { loadNative } = require('../dist/native');
const { readQwen3Config } = require('../dist/qwen3/config');
const { checkpointFiles } = require('../dist/qwen3/checkpoint');
const { fixtureModel, ROOT } = require('./helpers/util');
const { pack, openClassifier } = require('./helpers/native');

const GPU = (count) => ({
  libtorchVersion: '2.11.0',
  cudaAvailable: count > 0,
  cudaDeviceCount: count,
  threads: 16,
  cpuBf16: false,
});

test('parseDevice accepts auto, cpu, cuda and cuda:N, and nothing else', (t) => {
  for (const d of ['auto', 'cpu', 'cuda', 'cuda:0', 'cuda:1', 'cuda:15', 'cuda:999']) t.is(parseDevice(d), d);
  for (const d of [
    'gpu',
    'CUDA',
    'cuda:',
    'cuda:-1',
    'cuda:01',
    'cuda:1.5',
    'cuda:1000',
    'cuda1',
    ' cuda',
    'meta',
    0,
    null,
  ])
    t.is(parseDevice(d), undefined, String(d));
});

test("resolveDeviceAndDtype: 'auto' picks CUDA when present, cuda:N is checked against the devices there are", (t) => {
  t.deepEqual(resolveDeviceAndDtype({ device: 'auto' }, GPU(2)), { device: 'cuda', dtype: 'bfloat16' });
  t.deepEqual(resolveDeviceAndDtype({}, GPU(0)), { device: 'cpu', dtype: 'float32' });
  t.deepEqual(resolveDeviceAndDtype({ device: 'cuda:1' }, GPU(2)), { device: 'cuda:1', dtype: 'bfloat16' });
  t.deepEqual(resolveDeviceAndDtype({ device: 'cuda:0', dtype: 'float32' }, GPU(1)), {
    device: 'cuda:0',
    dtype: 'float32',
  });
  t.throws(() => resolveDeviceAndDtype({ device: 'cuda:2' }, GPU(2)), {
    message:
      "device 'cuda:2' requested but this libtorch sees 2 CUDA devices (cuda:0 to cuda:1); use one of them, 'cuda' (the first) or 'auto'",
  });
  t.throws(() => resolveDeviceAndDtype({ device: 'cuda:1' }, GPU(1)), { message: /sees 1 CUDA device \(cuda:0\)/ });
  t.throws(() => resolveDeviceAndDtype({ device: 'cuda:0' }, GPU(0)), {
    message: /device 'cuda:0' requested .* sees no CUDA device/,
  });
});

test('Qwen3Model and Predictor validate the device option, naming the forms', async (t) => {
  await t.throwsAsync(Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'gpu' }), {
    message: 'Expected one of auto, cpu, cuda, cuda:N for options.device but received "gpu"',
  });
  t.throws(() => new Predictor({ checkpoint: '/nowhere', device: 'cuda:x' }), {
    message: /device: expected one of auto, cpu, cuda, cuda:N/,
  });
  if (!runtimeInfo().cudaAvailable) {
    await t.throwsAsync(Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cuda:1' }), {
      message: /device 'cuda:1' requested .* sees no CUDA device/,
    });
  }
});

test('the core parses devices itself: unknown forms are refused, absent CUDA devices named', async (t) => {
  const dir = fixtureModel('tiny-tied-f32');
  const load = (device) => {
    const e = new (loadNative().Engine)();
    return e
      .load({
        files: checkpointFiles(dir),
        config: readQwen3Config(dir).native,
        device,
        dtype: 'float32',
        mapEmbeddings: 'auto',
      })
      .finally(() => e.dispose());
  };
  await t.throwsAsync(load('cuda:x'), { message: /load: .*unknown device cuda:x/ });
  await t.throwsAsync(load('cuda0'), { message: /unknown device cuda0/ });
  if (!runtimeInfo().cudaAvailable) await t.throwsAsync(load('cuda:1'), { message: /CUDA was requested \(cuda:1\)/ });
  const count = runtimeInfo().cudaDeviceCount;
  if (count > 0) await t.throwsAsync(load(`cuda:${count}`), { message: new RegExp(`sees ${count} CUDA device`) });
});

test('cudaMemory reports its counters, or that there are none', (t) => {
  const m = loadNative().cudaMemory(0, false);
  t.is(typeof m.available, 'boolean');
  if (!runtimeInfo().cudaAvailable)
    t.deepEqual(m, { available: false, allocated: 0, peakAllocated: 0, reserved: 0, peakReserved: 0 });
});

// The meta device: every call below runs the real code paths (padded and unpadded batches, the shared-prompt cache,
// LoRA in training and inference, the score head, AdamW) with every model tensor on 'meta'. A CPU tensor created
// along the way and combined with them throws "Expected all tensors to be on the same device"; results read as
// zeros. What this cannot see (index arguments and matmul operands, whose meta kernels do not compare devices) only
// a CUDA run shows: scripts/gpu-check.sh.
test('device placement: inference runs end to end on the meta device', async (t) => {
  const dir = fixtureModel('tiny-untied-bf16-gqa3');
  const e = new (loadNative().Engine)();
  try {
    await e.load({
      files: checkpointFiles(dir),
      config: readQwen3Config(dir).native,
      device: 'meta',
      dtype: 'float32',
      mapEmbeddings: 'auto',
    });
    const prompt = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    for (const seqs of [
      [[1, 2, 3]],
      [
        [1, 2, 3],
        [4, 5],
      ],
      [
        [...prompt, 1],
        [...prompt, 2, 3],
      ],
      [[...prompt, 9]],
    ]) {
      const { ids, lengths } = pack(seqs);
      for (const padLeft of [true, false]) {
        const logits = await e.lastTokenLogits(ids, lengths, padLeft);
        t.is(logits.length, seqs.length * 384);
        t.is((await e.lastTokenHidden(ids, lengths, padLeft, true)).length, seqs.length * 48);
      }
    }
    t.true(e.stats().tokensReused > 0, 'the shared-prompt path ran');
  } finally {
    e.dispose();
  }
});

// lora-head and full add a score head that Module::to moves with set_data, which libtorch does not allow from the CPU
// to meta: their device handling is the lora path's plus that one move, checked on a GPU by scripts/gpu-check.sh.
test('device placement: lora trains and predicts on the meta device', async (t) => {
  const lora = {
    r: 4,
    alpha: 8,
    dropout: 0.1,
    rslora: false,
    targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj'],
  };
  const c = await openClassifier('tiny-untied-bf16-gqa3', {
    device: 'meta',
    method: 'lora',
    lora,
    labelTokens: [7, 11],
    endToken: 5,
  });
  try {
    const seqs = [
      [3, 17, 99, 7],
      [45, 2, 200, 18, 11],
      [9, 9, 9, 120, 7],
      [250, 1, 11],
    ];
    const { ids, lengths } = pack(seqs);
    for (const padLeft of [true, false]) {
      const r = await c.accumulate(ids, lengths, padLeft, Int32Array.from([0, 1, 0, 1]), 0.5);
      t.is(r.tokens, 17);
    }
    t.is(await c.step(1e-3, 1), 0);
    t.deepEqual(Array.from(await c.predict(ids, lengths, true)), new Array(8).fill(0));
  } finally {
    c.dispose();
  }
});

test('CLI: --device takes cuda:N (case-insensitive) and rejects other forms as bad usage', (t) => {
  const bin = path.join(ROOT, 'dist', 'cli', 'main.js');
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'q3n-device-'));
  const env = { ...process.env, HF_HUB_OFFLINE: '1', CI: 'true', QWEN3_NATIVE_DEBUG: '' };
  const train = (device) =>
    spawnSync(
      process.execPath,
      [bin, 'train', '--method', 'lora', '--model', 'tiny', '--epochs', '1', '--device', device],
      {
        cwd,
        env,
        encoding: 'utf8',
      }
    );
  let r = train('cuda:x');
  t.is(r.status, 2, r.stderr);
  t.true(r.stderr.includes('--device: expected one of auto, cpu, cuda, cuda:N but received cuda:x'), r.stderr);
  if (!runtimeInfo().cudaAvailable) {
    // Accepted as a device, then refused where the machine's devices are known (exit 1, not bad usage).
    r = train('CUDA:1');
    t.is(r.status, 1, r.stderr);
    t.regex(r.stderr, /device 'cuda:1' requested but this libtorch .* sees no CUDA device/);
  }
  fs.rmSync(cwd, { recursive: true, force: true });
});
