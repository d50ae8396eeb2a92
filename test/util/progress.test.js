'use strict';
const test = require('ava');
const { formatBytes, formatDuration } = require('../../dist/util/progress');
const { createProgress } = require('../../dist');

/** A stream that records writes; isTTY undefined, like a pipe or a CI log. */
function recorder(extra = {}) {
  const writes = [];
  return { writes, write: (text) => writes.push(text), ...extra, text: () => writes.join('') };
}

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms) => (now += ms) };
}

test('without a TTY it prints plain lines at most every 2 s, and one at the end', (t) => {
  const stream = recorder();
  const time = clock();
  const progress = createProgress({ total: 100, label: 'train', stream, now: time.now });
  time.advance(500);
  progress.update(10);
  t.deepEqual(stream.writes, [], 'nothing before 2 s');
  time.advance(1600); // 2.1 s
  progress.update(21, 'loss 0.69');
  t.deepEqual(stream.writes, ['train: 21/100 21% 10/s ETA 7.9s loss 0.69\n']);
  time.advance(900);
  progress.tick(9); // 30 at 3.0 s: too soon after the last line
  t.is(stream.writes.length, 1);
  time.advance(1100); // 4.1 s
  progress.tick(11);
  t.is(stream.writes.length, 2);
  t.is(stream.writes[1], 'train: 41/100 41% 10/s ETA 5.9s loss 0.69\n');
  time.advance(5900); // 10 s
  progress.update(100, 'loss 0.12');
  t.is(stream.writes.length, 3);
  progress.done();
  progress.done(); // once only
  t.is(stream.writes.length, 4);
  t.is(stream.writes[3], 'train: 100/100 100% 10/s in 10s loss 0.12\n');
  t.false(stream.text().includes('\r'));
  t.false(stream.text().includes('\x1b'));
  t.is(progress.value, 100);
});

test('a short task prints only the final line; unknown totals print counts without percent', (t) => {
  const stream = recorder();
  const time = clock();
  const progress = createProgress({ label: 'eval', stream, now: time.now });
  for (let i = 0; i < 50; i++) {
    time.advance(10);
    progress.tick();
  }
  t.deepEqual(stream.writes, []);
  progress.done();
  t.deepEqual(stream.writes, ['eval: 50 100/s in 0.5s\n']);
});

test('bytes print as sizes and rates; a resumed start is not counted in the rate', (t) => {
  const stream = recorder();
  const time = clock();
  const progress = createProgress({
    total: 4 * 1024 ** 3,
    initial: 1024 ** 3,
    unit: 'bytes',
    label: 'model.safetensors',
    stream,
    now: time.now,
  });
  time.advance(2000);
  progress.update(1024 ** 3 + 200 * 1024 ** 2);
  t.deepEqual(stream.writes, ['model.safetensors: 1.20 GB/4.00 GB 30% 100 MB/s ETA 29s\n']);
});

test('CI=true means plain lines even on a TTY; a real terminal redraws one line', (t) => {
  const saved = process.env.CI;
  try {
    process.env.CI = 'true';
    const ci = recorder({ isTTY: true, columns: 80 });
    const time = clock();
    const progress = createProgress({ total: 10, stream: ci, now: time.now });
    time.advance(3000);
    progress.update(5);
    progress.done();
    t.deepEqual(ci.writes, ['5/10 50% 1.67/s ETA 3.0s\n', '5/10 50% 1.67/s in 3.0s\n']);

    delete process.env.CI;
    const tty = recorder({ isTTY: true, columns: 40 });
    const bar = createProgress({ total: 10, label: 'steps', stream: tty, now: time.now });
    bar.update(5);
    time.advance(50);
    bar.update(6); // within 100 ms of the last redraw: skipped
    time.advance(100);
    bar.update(7);
    bar.done();
    t.is(tty.writes.length, 3);
    t.true(tty.writes.every((w) => w.startsWith('\r') && w.includes('\x1b[K')));
    t.true(tty.writes[0].startsWith('\rsteps [##########----------] 5/10 50%'));
    t.true(tty.writes[2].endsWith('\n'));
    t.true(tty.writes.every((w) => w.replace(/\x1b\[K|\r|\n/g, '').length <= 39));
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});

test('setTotal, formatting helpers and validation', (t) => {
  const stream = recorder();
  const time = clock();
  const progress = createProgress({ stream, now: time.now, tty: false });
  progress.setTotal(4);
  time.advance(1000);
  progress.update(4);
  progress.done();
  t.deepEqual(stream.writes, ['4/4 100% 4/s in 1.0s\n']);
  t.is(formatBytes(512), '512 B');
  t.is(formatBytes(1536), '1.50 kB');
  t.is(formatBytes(17.5 * 1024 ** 3), '17.5 GB');
  t.is(formatDuration(75), '1m15s');
  t.is(formatDuration(3725), '1h02m');
  t.is(formatDuration(Infinity), '?');
  t.throws(() => createProgress({ total: -1, stream }), {
    instanceOf: RangeError,
    message: 'Expected non-negative number for options.total but received -1',
  });
  t.throws(() => createProgress({ stream, colour: true }), { message: /^Unknown key "colour" in options/ });
  t.throws(() => createProgress({ stream: {} }), {
    message: 'Expected writable stream for options.stream but received {}',
  });
  t.throws(() => progress.update('5'), { message: 'Expected finite number for done but received "5"' });
});
