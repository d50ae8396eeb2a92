'use strict';
// Running the qwen3-native CLI as a real process in tests: offline, a private HF_HOME, no stack traces.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const HF_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'q3n-cli-hf-'));
const ENV = { ...process.env, HF_HUB_OFFLINE: '1', HF_HOME, CI: 'true', QWEN3_NATIVE_DEBUG: '' };
delete ENV.HF_HUB_CACHE;

/**
 * Runs the CLI; resolves { code, signal, stdout, stderr }. stdin gets `input` (default: closed at once).
 * `onStdout(text, child)` sees the output so far (to send signals at the right moment).
 */
function cli(args, { cwd, input = '', env = {}, timeout = 300_000, onStdout } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...ENV, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
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

/** Copies a folder tree (files and sub-folders). */
function copyTree(src, dst) {
  fs.mkdirSync(dst, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, e.name);
    const to = path.join(dst, e.name);
    if (e.isDirectory()) copyTree(from, to);
    else fs.copyFileSync(from, to);
  }
  return dst;
}

module.exports = { ROOT, BIN, ENV, HF_HOME, cli, jsonLines, clean, copyTree };
