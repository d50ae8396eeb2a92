'use strict';
// The environment every CLI run in the tests gets, in process or spawned: offline, a private HF_HOME (removed when the
// test process ends), CI set (progress as plain lines), no stack traces.
const { tmpDir } = require('./util');

const HF_HOME = tmpDir('q3n-hf-');

/** Variables set for every run; HF_HUB_CACHE is removed (it would point around HF_HOME). */
const TEST_ENV = { HF_HUB_OFFLINE: '1', HF_HOME, CI: 'true', QWEN3_NATIVE_DEBUG: '' };

/** The environment of a spawned CLI process. */
function childEnv(extra = {}) {
  const env = { ...process.env, ...TEST_ENV, ...extra };
  delete env.HF_HUB_CACHE;
  return env;
}

/** Sets `vars` in this process for the duration of `fn` (undefined deletes a variable), then restores them. */
async function withEnv(vars, fn) {
  const saved = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

module.exports = { HF_HOME, TEST_ENV, childEnv, withEnv };
