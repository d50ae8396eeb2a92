'use strict';
// The one place that finds libtorch, for the loader (lib/native-loader.ts: which prebuilt addon fits, which shared
// libraries to load first) and for source builds (scripts/build-native.js: which TorchConfig.cmake). Plain Node, no
// dependencies: it ships in the package and runs before anything is built.
//
// Order: $LIBTORCH (an unpacked libtorch zip), the libtorch inside the Python `torch` package of `python3` on PATH,
// the system's (Debian/Ubuntu libtorch<version> / libtorch-dev). The first that has libtorch's shared libraries wins
// for loading; a build also needs its CMake files and headers (in Debian's libtorch-dev, not in libtorch2.6).
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const SYSTEM_LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
];
// QWEN3_NATIVE_SYSTEM_LIB_DIRS (colon-separated) replaces that list: the tests use it to see a machine without one.
const systemLibDirs = (env) =>
  env.QWEN3_NATIVE_SYSTEM_LIB_DIRS !== undefined
    ? env.QWEN3_NATIVE_SYSTEM_LIB_DIRS.split(':').filter(Boolean)
    : SYSTEM_LIB_DIRS;
// The libraries every addon links (TORCH_LIBRARIES of a CPU build), in load order.
const CORE_LIBS = ['libc10', 'libtorch_cpu', 'libtorch'];

/** Debian/Ubuntu ship libtorch with versioned sonames (libtorch.so.2.6); pytorch.org's zips and pip wheels do not. */
function libFile(libDir, base) {
  const plain = path.join(libDir, `${base}.so`);
  if (fs.existsSync(plain)) return plain;
  // A runtime-only Debian install (libtorch2.6 without -dev) has no unversioned symlink.
  let names = [];
  try {
    names = fs.readdirSync(libDir).filter((n) => new RegExp(`^${base}\\.so\\.\\d+\\.\\d+(\\.\\d+)?$`).test(n));
  } catch {
    return null;
  }
  names.sort((a, b) => a.length - b.length); // libc10.so.2.6 (the soname) before libc10.so.2.6.0
  return names.length ? path.join(libDir, names[0]) : null;
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** "2.6.0" from the first source that has it; null when none does. */
function readVersion({ prefix, libDir, torchDir, pythonPackage }) {
  if (pythonPackage) {
    const m = /__version__\s*=\s*['"]([^'"]+)['"]/.exec(readText(path.join(pythonPackage, 'version.py')) || '');
    if (m) return m[1];
  }
  if (torchDir) {
    const m = /PACKAGE_VERSION\s+"([^"]+)"/.exec(readText(path.join(torchDir, 'TorchConfigVersion.cmake')) || '');
    if (m) return m[1];
  }
  if (prefix) {
    const bv = readText(path.join(prefix, 'build-version')); // libtorch zips: "2.6.0+cpu"
    if (bv && bv.trim()) return bv.trim();
    for (const h of [
      path.join(prefix, 'include', 'torch', 'version.h'),
      path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'),
    ]) {
      const text = readText(h) || '';
      const major = /TORCH_VERSION_MAJOR\s+(\d+)/.exec(text);
      const minor = /TORCH_VERSION_MINOR\s+(\d+)/.exec(text);
      const patch = /TORCH_VERSION_PATCH\s+(\d+)/.exec(text);
      if (major && minor) return `${major[1]}.${minor[1]}.${patch ? patch[1] : 0}`;
    }
  }
  // Debian's runtime package names its files libtorch_cpu.so.2.6.0.
  const real = safeRealpath(libFile(libDir, 'libtorch_cpu'));
  const m = real && /\.so\.(\d+\.\d+(\.\d+)?)$/.exec(real);
  return m ? m[1] : null;
}

function safeRealpath(file) {
  try {
    return file ? fs.realpathSync(file) : null;
  } catch {
    return null;
  }
}

/**
 * 1 when libc10 was built with the C++11 std::string ABI (-D_GLIBCXX_USE_CXX11_ABI=1: Debian, pytorch.org's cxx11 zips,
 * pip wheels from 2.7 on), 0 for the old ABI (pip wheels up to 2.6): its exported names then never mention __cxx11.
 */
function readCxx11Abi(libDir) {
  const file = libFile(libDir, 'libc10');
  try {
    return fs.readFileSync(file).includes('St7__cxx11') ? 1 : 0;
  } catch {
    return null;
  }
}

function describe(candidate) {
  const { source, kind, prefix, libDir, torchDir, pythonPackage } = candidate;
  const libc10 = safeRealpath(libFile(libDir, 'libc10'));
  const version = readVersion(candidate);
  const mm = version && /^(\d+)\.(\d+)/.exec(version);
  const cuda = /\+cu(\d+)/.exec(version || '');
  return {
    source,
    kind,
    prefix: prefix || null,
    libDir,
    torchDir: torchDir && fs.existsSync(path.join(torchDir, 'TorchConfig.cmake')) ? torchDir : null,
    pythonPackage: pythonPackage || null,
    version,
    minor: mm ? `${mm[1]}.${mm[2]}` : null,
    cxx11abi: readCxx11Abi(libDir),
    // Debian's libc10.so.2.6 vs libc10.so: an addon's DT_NEEDED names one or the other, so they are different variants.
    sonames: libc10 && /\.so\.\d+\.\d+/.test(path.basename(libc10)) ? 'versioned' : 'plain',
    cuda: cuda ? `${cuda[1].slice(0, -1)}.${cuda[1].slice(-1)}` : null,
    // Loaded before the addon when they are not on the default search path (see lib/native-loader.ts).
    libraries: CORE_LIBS.map((b) => libFile(libDir, b)).filter(Boolean),
  };
}

/** Where `python3` (else `python`) would import torch from, without importing it (that takes seconds). */
function pythonTorch(env) {
  const script =
    "import importlib.util as u; s = u.find_spec('torch'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')";
  for (const python of ['python3', 'python']) {
    const r = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: 30000, env });
    if (r.error && r.error.code === 'ENOENT') continue; // try `python` only when there is no python3
    const dir = r.status === 0 ? r.stdout.trim() : '';
    return { python, dir: dir || null };
  }
  return { python: 'python3', dir: null, missing: true };
}

/**
 * Finds libtorch. `forBuild`: the candidate must also have TorchConfig.cmake (headers + CMake files).
 * Returns a description ({ source, kind, libDir, torchDir, version, minor, cxx11abi, sonames, cuda, libraries, tried })
 * or throws one error listing everything tried (err.tried) and how to fix it.
 */
function findLibtorch(env = process.env, { forBuild = false } = {}) {
  const tried = [];
  const accept = (candidate, why) => {
    if (!candidate.libDir || !libFile(candidate.libDir, 'libc10') || !libFile(candidate.libDir, 'libtorch_cpu')) {
      tried.push(`${candidate.source}: ${why || `no libc10/libtorch_cpu in ${candidate.libDir}`}`);
      return null;
    }
    const found = describe(candidate);
    if (forBuild && !found.torchDir) {
      tried.push(
        `${candidate.source}: libtorch ${found.version || ''} in ${found.libDir} but no TorchConfig.cmake (headers/CMake files)`
      );
      return null;
    }
    return { ...found, tried };
  };

  if (env.LIBTORCH) {
    const prefix = path.resolve(env.LIBTORCH);
    const r = accept({
      source: 'LIBTORCH',
      kind: 'libtorch',
      prefix,
      libDir: path.join(prefix, 'lib'),
      torchDir: path.join(prefix, 'share', 'cmake', 'Torch'),
    });
    if (r) return r;
  } else {
    tried.push('LIBTORCH: not set');
  }

  const py = pythonTorch(env);
  if (py.dir) {
    const r = accept({
      source: `Python torch (${py.python})`,
      kind: 'python',
      prefix: py.dir,
      libDir: path.join(py.dir, 'lib'),
      torchDir: path.join(py.dir, 'share', 'cmake', 'Torch'),
      pythonPackage: py.dir,
    });
    if (r) return r;
  } else {
    tried.push(
      py.missing ? 'Python torch: no python3 or python on PATH' : `Python torch (${py.python}): not installed`
    );
  }

  for (const libDir of systemLibDirs(env)) {
    if (!libFile(libDir, 'libc10')) continue;
    const r = accept({
      source: `system (${libDir})`,
      kind: 'system',
      prefix: null,
      libDir,
      torchDir: path.join(libDir, 'cmake', 'Torch'),
    });
    if (r) return r;
  }
  if (!tried.some((t) => t.startsWith('system')))
    tried.push(`system: no libtorch in ${systemLibDirs(env).join(', ') || '(no folders)'}`);

  const err = new Error(
    `libtorch ${forBuild ? 'with headers and CMake files ' : ''}not found. Tried, in order:\n${tried.map((t) => `  - ${t}`).join('\n')}`
  );
  err.code = 'LIBTORCH_NOT_FOUND';
  err.tried = tried;
  throw err;
}

/** The prebuilt-addon variant that fits this libtorch: torch-<major.minor>-cxx11abi<0|1>[-debian]. */
function variantOf(lt) {
  if (!lt.minor || lt.cxx11abi === null) return null;
  return `torch-${lt.minor}-cxx11abi${lt.cxx11abi}${lt.sonames === 'versioned' ? '-debian' : ''}`;
}

/**
 * pip wheels are built with the old C++ ABI up to torch 2.6 and the C++11 ABI from 2.7 on: a `pip install torch==…`
 * fits a variant only when both agree.
 */
function pipFits(minor, cxx11abi) {
  const [maj, min] = minor.split('.').map(Number);
  const cxx11Wheels = maj > 2 || (maj === 2 && min >= 7);
  return cxx11Wheels === (cxx11abi === 1);
}

/**
 * Why $LIBTORCH, when set, is not a libtorch (so the search goes on without it), else null. A wrong LIBTORCH
 * (a typo, the zip's parent folder) is worth saying even when another libtorch is then found and works.
 */
function libtorchEnvProblem(env = process.env) {
  if (!env.LIBTORCH) return null;
  const libDir = path.join(path.resolve(env.LIBTORCH), 'lib');
  if (libFile(libDir, 'libc10') && libFile(libDir, 'libtorch_cpu')) return null;
  return (
    `LIBTORCH=${env.LIBTORCH} is not a libtorch (no libc10/libtorch_cpu in ${libDir}), so it is ignored. ` +
    'Point it at an unpacked libtorch (the folder holding lib/ and include/), or unset it'
  );
}

module.exports = { findLibtorch, variantOf, pipFits, libtorchEnvProblem };

if (require.main === module) {
  const arg = process.argv[2];
  try {
    const r = findLibtorch(process.env, { forBuild: arg === '--build' });
    if (arg === '--json') console.log(JSON.stringify({ ...r, variant: variantOf(r) }, null, 2));
    else {
      console.log(`libtorch ${r.version || '(version unknown)'} from ${r.source}: ${r.libDir}`);
      console.log(
        `C++11 ABI ${r.cxx11abi}, ${r.sonames} sonames${r.cuda ? `, CUDA ${r.cuda}` : ''}; prebuilt variant ${variantOf(r)}`
      );
      console.log(
        r.torchDir
          ? `CMake files: ${r.torchDir}`
          : 'no CMake files (a runtime-only libtorch: enough to run a prebuilt addon, not to build one)'
      );
    }
  } catch (e) {
    console.error(`qwen3-native: ${e.message}`);
    process.exit(1);
  }
}
