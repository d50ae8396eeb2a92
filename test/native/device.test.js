'use strict';
// Devices: 'auto' | 'cpu' | 'cuda' | 'cuda:N' parsed and checked in TypeScript and in the core, and the CLI's --device.
// Where tensors live can only be proven on a GPU: libtorch's "meta" device, which would catch a CPU tensor meeting a
// model tensor, lacks kernels the model needs in libtorch 1.13's C++ (index_select: the embedding lookup), so the
// placement check is scripts/gpu-check.sh's numerics, run on CUDA.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { Qwen3Model, Predictor, parseDevice, resolveDeviceAndDtype, runtimeInfo } = require('../../dist');
const { loadNative } = require('../../dist/native');
const { readQwen3Config } = require('../../dist/qwen3/config');
const { weightFiles } = require('../../dist/qwen3/folder');
const { fixtureModel, ROOT, tmpDir } = require('../helpers/util');

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
    message: /Expected one of auto, cpu, cuda, cuda:N for device/,
  });
  if (!runtimeInfo().cudaAvailable) {
    await t.throwsAsync(Qwen3Model.load(fixtureModel('tiny-tied-f32'), { device: 'cuda:1' }), {
      message: /device 'cuda:1' requested .* sees no CUDA device/,
    });
  }
});

test('the core parses devices itself: unknown forms are refused, absent CUDA devices named', async (t) => {
  const dir = fixtureModel('tiny-tied-f32');
  const files = await weightFiles(dir);
  const config = (await readQwen3Config(dir)).native;
  const load = (device) => {
    const e = new (loadNative().Engine)();
    return e
      .load({
        files,
        config,
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

test('CLI: --device takes cuda:N (case-insensitive) and rejects other forms as bad usage', (t) => {
  const bin = path.join(ROOT, 'dist', 'cli', 'main.js');
  const cwd = tmpDir('q3n-device-');
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
