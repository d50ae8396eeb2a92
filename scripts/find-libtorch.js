'use strict';
// Finds a libtorch to build against, in this order: $LIBTORCH (an unpacked libtorch), the libtorch inside an
// installed Python `torch` package, the system's (Debian/Ubuntu libtorch-dev). Returns { torchDir, source } or
// throws one error listing everything tried and how to fix it.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const CONFIG = path.join('Torch', 'TorchConfig.cmake');

function candidatesFromPython() {
  const out = [];
  for (const python of ['python3', 'python']) {
    const r = spawnSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      timeout: 60000,
    });
    if (r.status === 0 && r.stdout.trim()) {
      out.push({ dir: path.join(r.stdout.trim(), 'share', 'cmake', 'Torch'), source: `Python torch (${python})` });
    } else {
      out.push({ dir: null, source: `Python torch (${python}): not importable` });
    }
  }
  return out;
}

function systemCandidates() {
  const roots = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  return roots.map((r) => ({ dir: path.join(r, 'cmake', 'Torch'), source: `system (${r})` }));
}

function findLibtorch(env = process.env) {
  const tried = [];
  const candidates = [];
  if (env.LIBTORCH) {
    candidates.push({ dir: path.join(env.LIBTORCH, 'share', 'cmake', 'Torch'), source: 'LIBTORCH' });
  } else {
    tried.push('LIBTORCH: not set');
  }
  candidates.push(...candidatesFromPython(), ...systemCandidates());
  for (const c of candidates) {
    if (!c.dir) {
      tried.push(c.source);
      continue;
    }
    if (fs.existsSync(path.join(c.dir, '..', CONFIG)) || fs.existsSync(path.join(c.dir, 'TorchConfig.cmake'))) {
      return { torchDir: c.dir, source: c.source, tried };
    }
    tried.push(`${c.source}: no ${path.join(c.dir, 'TorchConfig.cmake')}`);
  }
  const err = new Error(
    'qwen3-native: libtorch not found. Tried, in order:\n' +
      tried.map((t) => `  - ${t}`).join('\n') +
      '\nFix one of:\n' +
      '  - Debian/Ubuntu: `bash scripts/setup.sh` (installs libtorch-dev and libopenblas0-openmp)\n' +
      '  - an unpacked libtorch (e.g. a CUDA build from pytorch.org): export LIBTORCH=/path/to/libtorch\n' +
      '  - a Python environment with `torch` installed on PATH as python3'
  );
  err.tried = tried;
  throw err;
}

// Include and library folders for builds that do not use CMake (binding.gyp / node-gyp).
function libtorchPaths(torchDir) {
  // <prefix>/share/cmake/Torch (LIBTORCH, pip) or <libdir>/cmake/Torch (Debian).
  const up2 = path.resolve(torchDir, '..', '..');
  if (path.basename(path.dirname(torchDir)) === 'cmake' && path.basename(up2) === 'share') {
    const prefix = path.dirname(up2);
    return {
      include: [path.join(prefix, 'include'), path.join(prefix, 'include', 'torch', 'csrc', 'api', 'include')],
      lib: path.join(prefix, 'lib'),
    };
  }
  const libDir = up2;
  const prefix = path.resolve(libDir, '..', '..');
  const include = path.join(
    fs.existsSync(path.join(prefix, 'include', 'torch')) ? prefix : path.resolve(libDir, '..'),
    'include'
  );
  return { include: [include, path.join(include, 'torch', 'csrc', 'api', 'include')], lib: libDir };
}

module.exports = { findLibtorch, libtorchPaths };

if (require.main === module) {
  try {
    const r = findLibtorch();
    const p = libtorchPaths(r.torchDir);
    if (process.argv[2] === '--include') console.log(p.include.join(' '));
    else if (process.argv[2] === '--lib') console.log(p.lib);
    else console.log(`${r.torchDir} (${r.source})`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
