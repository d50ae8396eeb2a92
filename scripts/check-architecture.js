#!/usr/bin/env node
// `npm run lint` part: docs/architecture.md's floor block must list the floors of scripts/floors.js (the list the
// import rules in .dependency-cruiser.js are made from), the same wings on the same floors in the same order, so the
// picture a reader trusts is the one the lint enforces. It also fails when a folder or .ts file directly under lib/
// is on no floor: no import rule would cover it. The block is the fenced block right after the line
// `<!-- floors: ... -->`, one floor per line, top floor first: the floor's wings (words starting with lib/), then
// what they hold.
'use strict';
const fs = require('fs');
const path = require('path');
const FLOORS = require('./floors');

const ROOT = path.resolve(__dirname, '..');
const PAGE = 'docs/architecture.md';
const MARKER = '<!-- floors:';
const ENTRY = 'lib/index.ts'; // the package entry point: it only re-exports, on no floor
const FENCE = /^\s*```/;
const show = (floor) => floor.join(' ');

/** The floor block's floors, each with its line number in the page; null when the page has no such block. */
function pageFloors(text) {
  const lines = text.split('\n');
  const marker = lines.findIndex((l) => l.trim().startsWith(MARKER));
  if (marker < 0 || !FENCE.test(lines[marker + 1] || '')) return null;
  const floors = [];
  for (let i = marker + 2; i < lines.length && !FENCE.test(lines[i]); i++) {
    const words = lines[i].trim().split(/\s+/);
    const wings = [];
    while (words.length && words[0].startsWith('lib/')) wings.push(words.shift());
    if (wings.length) floors.push({ wings, line: i + 1 });
  }
  return floors;
}

/** Where the page's floors differ from scripts/floors.js, one sentence each. */
function compareFloors(found) {
  const problems = [];
  for (let i = 0; i < Math.max(found.length, FLOORS.length); i++) {
    const want = FLOORS[i];
    const got = found[i];
    if (!got) problems.push(`floor ${i + 1} (${show(want)}) is missing at the end of the block`);
    else if (!want) problems.push(`line ${got.line}: ${show(got.wings)} is a floor scripts/floors.js does not have`);
    else if (show(got.wings) !== show(want))
      problems.push(
        `line ${got.line}: floor ${i + 1} reads "${show(got.wings)}", scripts/floors.js has "${show(want)}"`
      );
  }
  return problems;
}

/** Folders and .ts files directly under lib/ that no floor names. */
function unplaced() {
  const placed = new Set(FLOORS.flat());
  return fs
    .readdirSync(path.join(ROOT, 'lib'), { withFileTypes: true })
    .map((e) => (e.isDirectory() ? `lib/${e.name}/` : `lib/${e.name}`))
    .filter((p) => (p.endsWith('/') || p.endsWith('.ts')) && p !== ENTRY && !placed.has(p))
    .sort();
}

const file = path.join(ROOT, PAGE);
const found = fs.existsSync(file) ? pageFloors(fs.readFileSync(file, 'utf8')) : null;
const pageProblems = found
  ? compareFloors(found).map((p) => `${PAGE} ${p}`)
  : [`${PAGE} has no floor block: a line "${MARKER} ... -->" followed by a fenced code block`];
const libProblems = unplaced().map((p) => `${p} is on no floor of scripts/floors.js, so no import rule covers it`);

if (pageProblems.length || libProblems.length) {
  console.error(`architecture: the floors of scripts/floors.js, lib/ and ${PAGE} disagree:`);
  for (const p of [...pageProblems, ...libProblems]) console.error(`  ${p}`);
  if (libProblems.length)
    console.error(`What to do: put each new folder or file of lib/ on a floor of scripts/floors.js and of ${PAGE}.`);
  if (pageProblems.length)
    console.error(
      `What to do: when the floors changed on purpose, change scripts/floors.js (the import rules follow it) and ` +
        `the block in ${PAGE} together; else make the block list scripts/floors.js's floors, one floor per line, ` +
        `top floor first, each line its wings then what they hold:\n` +
        FLOORS.map((f) => `    ${show(f)}`).join('\n')
    );
  process.exit(1);
}
console.log(`architecture: ${PAGE} lists the ${FLOORS.length} floors of scripts/floors.js, and they hold all of lib/`);
