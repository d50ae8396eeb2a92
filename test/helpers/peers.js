'use strict';
// The referees: transformers, PEFT and sentence-transformers at the versions scripts/peers/referees.txt pins, in the
// virtual environment scripts/peers.sh makes. Without it the referee tests are skipped (saying how to make it), and
// fail when CI is set: CI always makes it.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { ROOT, tmpDir } = require('./util');

const PY_DIR = path.join(ROOT, 'test', 'referees', 'py');
const MAKE = 'bash scripts/peers.sh ensure referees';

/** The environment's python, or null when it was not made (QWEN3_REFEREE_PYTHON names another). */
function refereePython() {
  if (process.env.QWEN3_REFEREE_PYTHON) return process.env.QWEN3_REFEREE_PYTHON;
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'peers.sh'), 'path', 'referees'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && fs.existsSync(path.join(dir, '.complete')) ? path.join(dir, 'bin', 'python') : null;
}

const PYTHON = refereePython();

/** ava's test when the referees are there or CI is set; otherwise a skipped test whose title says why. */
function refereeTest(title, fn) {
  if (PYTHON) return test(title, fn);
  if (process.env.CI) return test(title, (t) => t.fail(`the referee environment is missing: make it with \`${MAKE}\``));
  return test.skip(`${title} (skipped: no referee environment; \`${MAKE}\` makes it)`, fn);
}

/**
 * Runs test/referees/py/<script> on `job` in the referee environment (offline, one process) and returns its result.
 * Its output goes to the test's log when it fails.
 */
function runReferee(script, job) {
  const dir = tmpDir('q3n-referee-');
  const jobFile = path.join(dir, 'job.json');
  const outFile = path.join(dir, 'out.json');
  fs.writeFileSync(jobFile, JSON.stringify(job));
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [path.join(PY_DIR, script), '--job', jobFile, '--out', outFile], {
      cwd: PY_DIR,
      env: {
        ...process.env,
        PYTHONPATH: PY_DIR,
        HF_HUB_OFFLINE: '1',
        TRANSFORMERS_OFFLINE: '1',
        TOKENIZERS_PARALLELISM: 'false',
        PYTHONWARNINGS: 'ignore::FutureWarning',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`${script} exited with ${code}:\n${log.slice(-6000)}`);
        resolve(JSON.parse(fs.readFileSync(outFile, 'utf8')));
      } catch (e) {
        reject(e);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/**
 * A Qwen3 shape as test/referees/py/referee.py's qwen3_config reads it: vocabulary, hidden, MLP width, layers,
 * attention heads, key/value heads, head_dim, tied embeddings, rope_theta.
 */
const qwen3Shape = (vocab, hidden, mlp, layers, heads, kv, headDim, tied, ropeTheta) => ({
  vocab,
  hidden,
  mlp,
  layers,
  heads,
  kv,
  head_dim: headDim,
  tied,
  rope_theta: ropeTheta,
});

/** runReferee(script, makeJob()) run once, when a test first asks for its result (the tests of a file share it). */
function refereeOnce(script, makeJob) {
  let running;
  return () => (running ??= Promise.resolve().then(() => runReferee(script, makeJob())));
}

module.exports = { PYTHON, refereeTest, runReferee, refereeOnce, qwen3Shape };
