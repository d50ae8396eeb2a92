'use strict';
// `predict --explain`: the spans of each post in the table's output (colour on a terminal, [+ ]/[- ] marks
// otherwise), in --json, piped stdin and --out .jsonl; and the flag's refusals.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { cli: runCli, jsonLines } = require('../helpers/cli');
const { childEnv } = require('../helpers/env');
const { tmpDir, weiboData, weiboLines, trainTinyLoraRun } = require('../helpers/util');
const { formatExplanation, colourFor } = require('../../dist/cli/explain-output');

const WORK = tmpDir('q3n-explain-');
const BIN = path.resolve(__dirname, '../../dist/cli/main.js');
const cli = (args, options = {}) => runCli(args, { cwd: WORK, ...options });
const { texts, labels } = weiboData(weiboLines(32));
const run = trainTinyLoraRun({ base: path.join(WORK, 'base'), seed: 3, output: path.join(WORK, 'run'), texts, labels });

const POSTS = ['今天天气真好，我很开心😀！', '太失望了'];

/** The spans of a row, checked: in order, whole, the post's own text. */
function checkSpans(t, row) {
  t.true(Array.isArray(row.tokens) && row.tokens.length > 0, JSON.stringify(row));
  t.is(row.tokens.map((s) => s.text).join(''), row.text);
  for (const s of row.tokens) t.is(row.text.slice(s.start, s.end), s.text);
}

test("--explain --json, piped stdin and --out f.jsonl carry each post's spans", async (t) => {
  const checkpoint = await run;
  const j = await cli([
    'predict',
    '--checkpoint',
    checkpoint,
    '--text',
    POSTS[0],
    '--text',
    POSTS[1],
    '--json',
    '--explain',
  ]);
  t.is(j.code, 0, j.stderr);
  const rows = jsonLines(j.stdout);
  t.deepEqual(
    rows.map((r) => r.text),
    POSTS
  );
  rows.forEach((r) => checkSpans(t, r));
  // Without --explain, no spans.
  const plain = jsonLines((await cli(['predict', '--checkpoint', checkpoint, '--text', POSTS[0], '--json'])).stdout);
  t.is(plain[0].tokens, undefined);

  const piped = await cli(['predict', '--checkpoint', checkpoint, '--json', '--explain', '--explain-steps', '8'], {
    input: POSTS.join('\n') + '\n',
  });
  t.is(piped.code, 0, piped.stderr);
  jsonLines(piped.stdout).forEach((r) => checkSpans(t, r));

  const out = path.join(WORK, 'why.jsonl');
  const f = await cli(['predict', '--checkpoint', checkpoint, '--text', POSTS[1], '--out', out, '--explain']);
  t.is(f.code, 0, f.stderr);
  jsonLines(fs.readFileSync(out, 'utf8')).forEach((r) => checkSpans(t, r));
});

test('--explain without a terminal marks the spans that matter; the marks come off to give the post', async (t) => {
  const checkpoint = await run;
  const r = await cli(['predict', '--checkpoint', checkpoint, '--text', POSTS[0], '--explain']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^why \(\[\+ \]: towards the label, \[- \]: against/m);
  const line = r.stdout.split('\n').find((l) => /^ {2}(正面|负面) {2}/.test(l));
  t.truthy(line, r.stdout);
  t.regex(line, /\[[+-][^\]]+\]/);
  t.is(line.replace(/^ {2}\S+ {2}/, '').replace(/\[[+-]([^\]]*)\]/g, '$1'), POSTS[0]);
  t.false(r.stdout.includes('\x1b['), 'no escape codes in a pipe');
});

test('--explain on a terminal colours the spans red to green; NO_COLOR turns colour off', async (t) => {
  const checkpoint = await run;
  const spans = [
    { text: '好', start: 0, end: 1, score: 1 },
    { text: '的', start: 1, end: 2, score: 0.01 },
    { text: '差', start: 2, end: 3, score: -0.4 },
  ];
  t.is(formatExplanation(spans, true), '\x1b[1m\x1b[32m好\x1b[39m\x1b[22m的\x1b[31m差\x1b[39m');
  t.is(formatExplanation(spans, false), '[+好]的[-差]');
  t.true(colourFor({ isTTY: true }, {}));
  t.false(colourFor({ isTTY: true }, { NO_COLOR: '1' }));
  t.false(colourFor({ isTTY: false }, {}));
  // A real terminal: the command under script(1)'s pseudo-terminal.
  let typed;
  try {
    typed = execFileSync(
      'script',
      ['-qec', `node ${BIN} predict --checkpoint ${checkpoint} --text ${POSTS[1]} --explain`, '/dev/null'],
      { env: childEnv({ NO_COLOR: undefined, CI: undefined }), encoding: 'utf8' }
    );
  } catch (e) {
    if (e.code === 'ENOENT') return t.log('no script(1) here: the terminal run is skipped');
    throw e;
  }
  t.regex(typed, /\x1b\[3[12]m/);
  t.regex(typed, /why \(.*green.*towards the label/);
});

test('--explain refuses what it cannot do, saying what to do', async (t) => {
  const checkpoint = await run;
  for (const [args, message] of [
    [['--explain-steps', '8'], '--explain-steps goes with --explain'],
    [['--explain', '--explain-steps', '5000'], '--explain-steps is at most 1024'],
    [['--explain', '--out', path.join(WORK, 'x.csv')], "--explain's spans go to JSON Lines: give --out <file>.jsonl"],
    [['--explain', '--ensemble'], '--explain shows why one run answered'],
  ]) {
    const r = await cli(['predict', '--checkpoint', checkpoint, '--text', '好', ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.true(r.stderr.includes(message), r.stderr);
  }
});
