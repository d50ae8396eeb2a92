#!/usr/bin/env node
// Fails when a source file grows past 450 lines, the size past which a reader gets lost (the house rule; tests,
// fixtures and generated files are exempt). Run by `npm run lint`.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const LIMIT = 450;
const root = path.resolve(__dirname, '..');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'lib', 'csrc'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => /\.(ts|cpp|cc|h|hpp)$/.test(f) && fs.existsSync(path.join(root, f)));
const big = files
  .map((f) => ({ f, lines: fs.readFileSync(path.join(root, f), 'utf8').split('\n').length - 1 }))
  .filter((x) => x.lines > LIMIT);
if (big.length) {
  console.error(`Files over ${LIMIT} lines (split them by concern):`);
  for (const { f, lines } of big) console.error(`  ${f}: ${lines}`);
  process.exit(1);
}
console.log(`file sizes: ${files.length} source files, none over ${LIMIT} lines`);
