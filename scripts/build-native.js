'use strict';
// Builds the addon with cmake-js against the libtorch that find-libtorch.js picks.
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch } = require('./find-libtorch');

function build({ quiet = false } = {}) {
  const { torchDir, source } = findLibtorch();
  if (!quiet) console.log(`qwen3-native: building against libtorch from ${source}: ${torchDir}`);
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'compile', '--CDTorch_DIR=' + torchDir, '--parallel', String(Math.max(1, os.cpus().length))];
  const r = spawnSync(process.execPath, args, { cwd: path.resolve(__dirname, '..'), stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`qwen3-native: native build failed (cmake-js exit ${r.status})`);
}

module.exports = { build };

if (require.main === module) {
  try {
    build();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
