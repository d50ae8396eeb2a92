const test = require('ava');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, variantOf, pipFits } = require('../../scripts/find-libtorch');
const { ROOT, tmpDir } = require('../helpers/util');
const { childEnv } = require('../helpers/env');

// A fake libtorch: the files the detection reads (names, version files, libc10's mangled names), no real code.
function fakeLibtorch({ version = '2.7.1+cu126', cxx11 = true, versioned = false, cmake = false } = {}) {
  const dir = tmpDir('q3n-libtorch-');
  const lib = path.join(dir, 'lib');
  fs.mkdirSync(lib);
  const c10 = Buffer.from(cxx11 ? '\0_ZN3c105ErrorC1ENSt7__cxx1112basic_stringIcEE\0' : '\0_ZN3c105ErrorC1ESs\0');
  const minor = version.split('.').slice(0, 2).join('.');
  for (const base of ['libc10', 'libtorch_cpu', 'libtorch']) {
    if (versioned) {
      fs.writeFileSync(path.join(lib, `${base}.so.${version}`), base === 'libc10' ? c10 : 'x');
      fs.symlinkSync(`${base}.so.${version}`, path.join(lib, `${base}.so.${minor}`));
    } else {
      fs.writeFileSync(path.join(lib, `${base}.so`), base === 'libc10' ? c10 : 'x');
    }
  }
  if (!versioned) fs.writeFileSync(path.join(dir, 'build-version'), `${version}\n`);
  if (cmake) {
    fs.mkdirSync(path.join(dir, 'share', 'cmake', 'Torch'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '');
  }
  return dir;
}

// PATH without python3/python and no system folders: the tests see only the libtorch they make, whatever this
// machine has installed.
const NO_PYTHON = { PATH: '/nonexistent', QWEN3_NATIVE_SYSTEM_LIB_DIRS: '' };

test('LIBTORCH: version from build-version, C++ ABI from libc10, plain sonames -> the pytorch.org variant', (t) => {
  const dir = fakeLibtorch();
  const lt = findLibtorch({ ...NO_PYTHON, LIBTORCH: dir });
  t.is(lt.source, 'LIBTORCH');
  t.is(lt.version, '2.7.1+cu126');
  t.is(lt.minor, '2.7');
  t.is(lt.cuda, '12.6');
  t.is(lt.cxx11abi, 1);
  t.is(lt.sonames, 'plain');
  t.is(lt.torchDir, null, 'no CMake files: a runtime-only libtorch');
  t.deepEqual(
    lt.libraries.map((f) => path.basename(f)),
    ['libc10.so', 'libtorch_cpu.so', 'libtorch.so']
  );
  t.is(variantOf(lt), 'torch-2.7-cxx11abi1');
});

test('an old-ABI libtorch and a Debian-style (versioned sonames, runtime only) one are other variants', (t) => {
  t.is(
    variantOf(findLibtorch({ ...NO_PYTHON, LIBTORCH: fakeLibtorch({ version: '2.6.0+cpu', cxx11: false }) })),
    'torch-2.6-cxx11abi0'
  );
  const debianLike = findLibtorch({ ...NO_PYTHON, LIBTORCH: fakeLibtorch({ version: '2.6.0', versioned: true }) });
  t.is(debianLike.version, '2.6.0');
  t.is(debianLike.sonames, 'versioned');
  t.is(variantOf(debianLike), 'torch-2.6-cxx11abi1-debian');
});

test('a build needs CMake files: a runtime-only LIBTORCH is passed over, and the reason is listed', (t) => {
  const dir = fakeLibtorch();
  let found = null;
  try {
    found = findLibtorch({ ...NO_PYTHON, LIBTORCH: dir }, { forBuild: true });
  } catch (e) {
    t.true(
      e.tried.some((x) => x.startsWith('LIBTORCH:') && x.includes('no TorchConfig.cmake')),
      e.message
    );
  }
  if (found) t.not(found.source, 'LIBTORCH');
  t.is(findLibtorch({ ...NO_PYTHON, LIBTORCH: fakeLibtorch({ cmake: true }) }, { forBuild: true }).source, 'LIBTORCH');
});

test('pip wheels: old C++ ABI up to torch 2.6, C++11 ABI from 2.7', (t) => {
  t.true(pipFits('2.8', 1));
  t.true(pipFits('2.7', 1));
  t.false(pipFits('2.6', 1));
  t.true(pipFits('2.6', 0));
  t.false(pipFits('1.13', 1));
});

// A copy of the package as npm installs it (no scripts/setup.sh, no build/Release), with fake prebuilt addons.
function installedCopy({ clone = false } = {}) {
  const pkg = tmpDir('q3n-pkg-');
  fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'scripts'));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'find-libtorch.js'), path.join(pkg, 'scripts', 'find-libtorch.js'));
  if (clone) fs.writeFileSync(path.join(pkg, 'scripts', 'setup.sh'), '');
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  const ship = (variant, meta) => {
    const dir = path.join(pkg, 'prebuilds', variant, 'prebuilds', `${process.platform}-${process.arch}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'qwen3_native.node'), 'not an ELF file');
    fs.writeFileSync(path.join(dir, 'qwen3_native.json'), JSON.stringify({ variant, sonames: 'plain', ...meta }));
  };
  ship('torch-1.13-cxx11abi1-debian', {
    torchMinor: '1.13',
    cxx11abi: 1,
    sonames: 'versioned',
    runtime: { platform: 'Debian GNU/Linux 12 (bookworm)', apt: 'libtorch1.13 libopenblas0-openmp' },
  });
  ship('torch-2.8-cxx11abi1', {
    torchMinor: '2.8',
    cxx11abi: 1,
    runtime: { platform: 'pytorch.org libtorch / pip torch', pip: 'torch==2.8.0' },
  });
  return pkg;
}

function loadIn(pkg, env) {
  const code = `try { require(${JSON.stringify(path.join(pkg, 'dist'))}).runtimeInfo(); console.log('LOADED') } catch (e) { console.log(e.message) }`;
  return spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...NO_PYTHON, ...env } });
}

test('no addon for the libtorch found: one catchable message with what was found, what ships and the fixes', (t) => {
  const r = loadIn(installedCopy(), { LIBTORCH: fakeLibtorch({ version: '2.5.1+cpu' }) });
  t.is(r.status, 0, r.stderr);
  const m = r.stdout;
  t.regex(m, /has no addon for the libtorch found: libtorch 2\.5\.1\+cpu \(C\+\+11 ABI\) from LIBTORCH/);
  t.regex(m, /variant torch-2\.5-cxx11abi1/);
  t.regex(m, /ships addons for[^]*libtorch 1\.13[^]*libtorch 2\.8/);
  t.regex(m, /sudo apt-get install libtorch1\.13 libopenblas0-openmp/);
  t.regex(m, /pip install torch==2\.8\.0/);
  t.regex(m, /export LIBTORCH=/);
  t.regex(m, /npx qwen3-native build/);
  t.notRegex(m, /setup\.sh/, 'an installed package has no setup script to point at');
});

test('no libtorch at all: the places looked at, and in a clone the set-up script as the fix', (t) => {
  const r = loadIn(installedCopy({ clone: true }), { LIBTORCH: '/nonexistent/libtorch' });
  t.regex(r.stdout, /needs libtorch \(PyTorch's C\+\+ library\); none found/);
  t.regex(r.stdout, /LIBTORCH: no libc10\/libtorch_cpu in \/nonexistent\/libtorch\/lib/);
  t.regex(r.stdout, /bash scripts\/setup\.sh/);
});

test('a prebuilt addon that does not load is an Error naming the file and the fix, not a crash', (t) => {
  const r = loadIn(installedCopy(), { LIBTORCH: fakeLibtorch({ version: '2.8.0+cpu' }) });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /the prebuilt addon .*torch-2\.8-cxx11abi1.*qwen3_native\.node does not load/);
  t.regex(r.stdout, /npx qwen3-native build/);
});

test('the CLI prints the no-libtorch message once, exits 1, and shows no stack trace', (t) => {
  const pkg = installedCopy();
  const r = spawnSync(process.execPath, [path.join(pkg, 'dist', 'cli', 'main.js'), 'info'], {
    encoding: 'utf8',
    env: { ...NO_PYTHON, LIBTORCH: '/nonexistent/libtorch', CI: 'true' },
  });
  t.is(r.status, 1);
  t.is(r.stderr.match(/^error:/gm)?.length, 1, r.stderr);
  t.notRegex(r.stderr, /^\s+at /m);
  t.regex(r.stdout, /libtorch\s+not found/);
});

test('a source build without a compiler or CMake says what is missing and how to install it', (t) => {
  const bin = tmpDir('q3n-bin-');
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-native.js')], {
    encoding: 'utf8',
    env: { PATH: bin, LIBTORCH: fakeLibtorch({ cmake: true }) },
  });
  t.is(r.status, 1);
  t.regex(r.stderr, /a source build needs cmake, make, a C\+\+17 compiler/);
  t.regex(r.stderr, /apt-get install g\+\+ cmake make libtorch-dev/);
});

test('under an address-space limit too small for libtorch, loading fails at once with the limit named (no hang)', (t) => {
  const { neededAddressSpace } = require('../../dist/native');
  const needed = Math.ceil(neededAddressSpace() / 1024);
  // 3,000,000 KB: under it, OpenBLAS looped forever as libtorch loaded (every command hung at 100% of a core).
  const load = (kb, code) =>
    spawnSync('bash', ['-c', `ulimit -v ${kb}; exec "${process.execPath}" -e '${code}'`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
  for (const how of ['preloadNative()', 'Promise.resolve().then(() => loadNative())']) {
    const started = Date.now();
    const r = load(
      Math.min(3_000_000, needed - 1024),
      `const { preloadNative, loadNative } = require("./dist/native"); ${how}.then(() => console.log("loaded"), (e) => { console.error(e.message); process.exit(1); })`
    );
    t.log(`${how}: exit ${r.status} in ${Date.now() - started} ms: ${r.stderr.trim()}`);
    t.is(r.status, 1, `${how} ended by itself (${r.signal ?? 'no signal'})`);
    t.regex(r.stderr, /may use 2\.\d+ GiB of address space \(ulimit -v \d+\), and qwen3-native needs at least/);
    t.regex(r.stderr, /Raise the limit \(ulimit -v unlimited/);
  }
  // The command the limit used to hang.
  const run = path.join(ROOT, 'test', 'fixtures', 'runs-binary', 'lora');
  const predict = spawnSync(
    'bash',
    [
      '-c',
      `ulimit -v 3000000; exec "${process.execPath}" dist/cli/main.js predict --checkpoint ${run} --model tiny --text 好`,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: childEnv() }
  );
  t.is(predict.status, 1, predict.stderr);
  t.regex(predict.stderr, /^error: this process may use 2\.86 GiB of address space \(ulimit -v 3000000\)/);
  const fine = load(needed, 'require("./dist/native").preloadNative().then(() => console.log("loaded"))');
  t.is(fine.status, 0, fine.stderr);
  t.is(fine.stdout.trim(), 'loaded');
});
