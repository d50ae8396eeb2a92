'use strict';
// Running the qwen3-native CLI in tests. `cli` runs a command in this process (dist/cli/main.js's main with captured
// streams): the addon loads once per test file instead of once per command (2.0-2.7 s each). `spawnCli` runs it as a
// real process, for what only a process shows: signals, the exit of the process itself, a crash, `npx`.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { Readable } = require('stream');
const { childEnv, TEST_ENV, withEnv } = require('./env');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');

/** A stream that keeps what is written (not a terminal). */
function capture() {
  const s = { text: '', isTTY: false, write: (chunk) => void (s.text += String(chunk)) };
  return s;
}

// One command at a time: a command runs in the process's working directory and environment.
let queue = Promise.resolve();

/**
 * Runs the CLI in this process, in `cwd`; resolves { code, signal: null, stdout, stderr }. stdin is a pipe holding
 * `input` (as a spawned command's would be). `env` adds variables for this command only.
 */
function cli(args, { cwd = process.cwd(), input = '', env = {} } = {}) {
  const run = async () => {
    const { main } = require(BIN);
    const stdout = capture();
    const stderr = capture();
    const before = process.cwd();
    process.chdir(cwd);
    try {
      const code = await withEnv({ ...TEST_ENV, HF_HUB_CACHE: undefined, ...env }, () =>
        main(args, { stdout, stderr, stdin: Readable.from([input]), stdinPiped: true })
      );
      return { code, signal: null, stdout: stdout.text, stderr: stderr.text };
    } finally {
      process.chdir(before);
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/**
 * Runs the CLI as a real process; resolves { code, signal, stdout, stderr }. stdin gets `input` (default: closed at
 * once; null: left open, for `onSpawn(child)` and `onStdout` to write and end). `onStdout(text, child)` sees the
 * output so far (to send signals, or more input, at the right moment). `wrapper` runs it under another command
 * (`['ip', 'netns', 'exec', ns]`), which must exec node in its own place: signals then reach the CLI itself.
 */
function spawnCli(
  args,
  { cwd, input = '', env = {}, timeout = 300_000, onStdout, onStderr, onSpawn, wrapper = [] } = {}
) {
  return new Promise((resolve, reject) => {
    const [command, ...before] = [...wrapper, process.execPath];
    const child = spawn(command, [...before, BIN, ...args], { cwd, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    if (input !== null) child.stdin.end(input);
    onSpawn?.(child);
  });
}

const jsonLines = (text) =>
  text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l));

/** No JS stack trace and no native crash in a CLI result. */
function clean(t, r, what = '') {
  t.false(/^\s+at\s/m.test(r.stderr + r.stdout), `no stack trace ${what}:\n${r.stderr}`);
  t.is(r.signal, null, `exited by itself ${what}`);
  t.true(r.code !== null && (r.code <= 2 || [129, 130, 143].includes(r.code)), `exit code ${r.code} ${what}`);
}

/** Copies a folder tree. */
const copyTree = (src, dst) => (fs.cpSync(src, dst, { recursive: true }), dst);

module.exports = { ROOT, BIN, cli, spawnCli, jsonLines, clean, copyTree };
