'use strict';
// Runs test cases in child processes, so that a case which crashes the process (a native fault) or never finishes
// (a read blocked on a named pipe) is seen and named instead of taking the test run down with it.
//
// The child script is given JSON { cases, ...shared } as its last argument and, for each case in turn, prints
//   START <case>          before it starts the case
//   RESULT <json>         when the case is over (whatever the case's outcome: the JSON says)
// The parent kills a child whose current case has run for longer than timeoutMs ('hang'), records a child that
// dies mid-case ('crash', with its signal or exit code and the end of its stderr), and starts a new child for the
// cases left. Several children run at once (`parallel`), each on its own share of the cases.
const { spawn } = require('child_process');
const readline = require('readline');

function runChild(script, cases, shared, timeoutMs, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, JSON.stringify({ cases, ...shared })], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results = new Map();
    let current;
    let timer;
    let stderr = '';
    let hung = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, timeoutMs);
    };
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('START ')) {
        current = line.slice(6);
        arm();
      } else if (line.startsWith('RESULT ')) {
        results.set(current, { status: 'done', result: JSON.parse(line.slice(7)) });
        current = undefined;
        clearTimeout(timer);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (current !== undefined) {
        results.set(current, {
          status: hung ? 'hang' : 'crash',
          detail: hung ? `no result after ${timeoutMs} ms` : `exit ${code} signal ${signal}: ${stderr.slice(-1500)}`,
        });
      } else if (code !== 0 && results.size < cases.length) {
        // Died between cases (at start-up): every case left is unexplained.
        for (const c of cases) {
          if (!results.has(String(c))) {
            results.set(String(c), {
              status: 'crash',
              detail: `exit ${code} signal ${signal}: ${stderr.slice(-1500)}`,
            });
          }
        }
      }
      resolve(results);
    });
  });
}

/**
 * Runs every case; returns Map<case as string, { status: 'done'|'hang'|'crash', result?, detail? }>.
 * Cases after a hang or crash run in a fresh child.
 */
async function runCases(script, cases, { shared = {}, timeoutMs = 60_000, parallel = 1, env = {} } = {}) {
  const all = new Map();
  const shares = Array.from({ length: parallel }, (_, k) => cases.filter((_, i) => i % parallel === k));
  await Promise.all(
    shares.map(async (share) => {
      let left = share;
      while (left.length > 0) {
        const results = await runChild(script, left, shared, timeoutMs, env);
        for (const [k, v] of results) all.set(k, v);
        const next = left.filter((c) => !results.has(String(c)));
        if (next.length === left.length) {
          for (const c of left) all.set(String(c), { status: 'crash', detail: 'the child ran no case' });
          break;
        }
        left = next;
      }
    })
  );
  return all;
}

module.exports = { runCases };
