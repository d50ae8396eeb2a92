'use strict';
// `predict` as a stream filter: posts piped one at a time, with pauses, each answered before the next is sent, in
// input order, for post lines, JSONL (with ids) and CSV (a quoted post over two lines); bad rows are reported and
// skipped. Run in process (main with a pipe for stdin); once as a real process fed through a real pipe.
const test = require('ava');
const path = require('path');
const { PassThrough } = require('stream');
const { setTimeout: sleep } = require('timers/promises');
const { BIN, spawnCli } = require('../helpers/cli');
const { FIXTURES, tinyBases } = require('../helpers/util');
const { withEnv, TEST_ENV } = require('../helpers/env');

const RUN = path.join(FIXTURES, 'runs-binary', 'lora');
let causal;
test.before(async () => {
  ({ causal } = await tinyBases(7));
});

/**
 * Runs predict in process with `args`, writing each of `chunks` to its stdin, the next one only once
 * `answered(stdout, i)` says chunk i has its results (or 30 s passed); resolves { code, stdout, stderr, waited } (waited: whether each chunk's results came
 * before the next chunk was sent).
 */
async function feed(args, chunks, answered) {
  const { main } = require(BIN);
  const stdin = new PassThrough();
  const stdout = { text: '', isTTY: false, write: (c) => void (stdout.text += String(c)) };
  const stderr = { text: '', isTTY: false, write: (c) => void (stderr.text += String(c)) };
  const running = withEnv(TEST_ENV, () =>
    main(['predict', '--checkpoint', RUN, '--model', causal, '--flush-ms', '20', ...args], {
      stdout,
      stderr,
      stdin,
      stdinPiped: true,
    })
  );
  const waited = [];
  for (let i = 0; i < chunks.length; i++) {
    stdin.write(chunks[i]);
    const deadline = Date.now() + 30_000;
    while (!answered(stdout.text, i) && Date.now() < deadline) await sleep(10);
    waited.push(answered(stdout.text, i));
    await sleep(50); // a pause between posts, as `tail -f` has
  }
  stdin.end();
  return { code: await running, stdout: stdout.text, stderr: stderr.text, waited };
}

const jsonLines = (text) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

test.serial('post lines: each result is printed before the next post is sent, in order', async (t) => {
  const posts = ['今天天气真好', '排了两个小时的队，结果卖完了', '还行吧'];
  const r = await feed(
    ['--json'],
    posts.map((p) => `${p}\n`),
    (out, i) => jsonLines(out).length === i + 1
  );
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.waited, [true, true, true]);
  t.deepEqual(
    jsonLines(r.stdout).map((p) => p.text),
    posts
  );
});

test.serial('text<TAB>label lines (train.txt piped in): the labels are dropped, as for --file', async (t) => {
  const lines = ['今天天气真好\t1', '排了两个小时的队，结果卖完了\t0', '一行\t没有标签'];
  const r = await feed(
    ['--json'],
    lines.map((l) => `${l}\n`),
    (out, i) => jsonLines(out).length === i + 1
  );
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.waited, [true, true, true]);
  t.deepEqual(
    jsonLines(r.stdout).map((p) => p.text),
    ['今天天气真好', '排了两个小时的队，结果卖完了', '一行\t没有标签']
  );
});

test.serial('JSONL with ids, and a table for text output', async (t) => {
  const rows = [
    { id: 'a', text: '好开心' },
    { id: 7, text: '太失望了' },
  ];
  const r = await feed(
    ['--json', '--id-column', 'id'],
    rows.map((x) => `${JSON.stringify(x)}\n`),
    (out, i) => jsonLines(out).length === i + 1
  );
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.waited, [true, true]);
  t.deepEqual(
    jsonLines(r.stdout).map((p) => [p.id, p.text]),
    rows.map((x) => [x.id, x.text])
  );

  const table = await feed([], ['第一条\n', '第二条\n'], (out, i) => out.includes(i === 0 ? '第一条' : '第二条'));
  t.is(table.code, 0, table.stderr);
  t.deepEqual(table.waited, [true, true]);
  t.is(table.stdout.match(/confidence/g).length, 1, `one header:\n${table.stdout}`);
});

test.serial('CSV: the header first, a quoted post over two lines, a bad row skipped with its line', async (t) => {
  const chunks = ['id,review\n', '1,第一条微博\n', '2,"第二条\n', '跨两行"\n', '3\n', '4,最后一条\n'];
  const r = await feed(['--json', '--id-column', 'id'], chunks, (out, i) => {
    const want = [0, 1, 1, 2, 2, 3][i];
    return jsonLines(out).length === want;
  });
  t.is(r.code, 1, 'a skipped row makes exit code 1');
  t.deepEqual(r.waited, [true, true, true, true, true, true]);
  t.deepEqual(
    jsonLines(r.stdout).map((p) => [p.id, p.text]),
    [
      ['1', '第一条微博'],
      ['2', '第二条\n跨两行'],
      ['4', '最后一条'],
    ]
  );
  t.true(r.stderr.includes('stdin:5: expected 2 fields as in the header but found 1 (skipped)'), r.stderr);
  t.true(r.stderr.includes('1 bad row skipped'), r.stderr);
});

test.serial('a real pipe: the first post is answered while the pipe is still open', async (t) => {
  let sent = false;
  const r = await spawnCli(['predict', '--checkpoint', RUN, '--model', causal, '--json'], {
    input: null,
    onStdout: (out, child) => {
      if (!sent && jsonLines(out).length === 1) {
        sent = true;
        child.stdin.end('第二条\n');
      }
    },
    onSpawn: (child) => child.stdin.write('第一条\n'),
  });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    jsonLines(r.stdout).map((p) => p.text),
    ['第一条', '第二条']
  );
});
