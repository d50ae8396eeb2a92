'use strict';
// `qwen3-native compare --model tiny` on the bundled sample, run as a real process once: the three report files with
// every measure filled, the charts seen by a real browser (Debian's chromium, headless), and `qwen3-native report` on
// one of its runs.
const test = require('ava');
const fs = require('fs');
const path = require('path');
const { cli: runCli } = require('../helpers/cli');
const { tmpDir } = require('../helpers/util');

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const SAMPLE = path.join(ROOT, 'data', 'weibo_sample.txt');
const SAMPLE_TEST = path.join(ROOT, 'data', 'weibo_sample_test.txt');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// In CI (.ci/run installs Debian's chromium) a missing browser fails the browser checks; elsewhere they are skipped,
// and ava reports them as skipped, not passed.
const HAS_BROWSER = fs.existsSync(CHROMIUM);
const browserTest = HAS_BROWSER || process.env.CI ? test.serial : test.serial.skip;

const WORK = tmpDir('q3n-compare-');
test.after.always(() => fs.rmSync(WORK, { recursive: true, force: true }));

/** Runs a command in this process, in WORK (helpers/cli.js). */
const cli = (args) => runCli(args, { cwd: WORK });

// The comparison the README shows, word for word (in a temporary working directory).
let compared;
const compare = () =>
  (compared ??= cli(['compare', '--model', 'tiny', '--train', SAMPLE, '--test', SAMPLE_TEST]).then((r) => {
    if (r.code !== 0) throw new Error(`compare failed (${r.code}):\n${r.stderr}`);
    return r;
  }));
const OUT = path.join(WORK, 'compare-report');

test.serial(
  'compare --model tiny writes report.md, report.json and report.html with every measure filled',
  async (t) => {
    const r = await compare();
    for (const f of ['report.md', 'report.json', 'report.html']) t.true(fs.existsSync(path.join(OUT, f)), f);
    const report = JSON.parse(fs.readFileSync(path.join(OUT, 'report.json'), 'utf8'));
    t.deepEqual(
      report.results.map((x) => x.method),
      ['embedding', 'lora', 'lora-head', 'full']
    );
    t.is(report.settings.testPosts, 60);
    const positive = (x, what) => t.true(typeof x === 'number' && Number.isFinite(x) && x > 0, `${what}: ${x}`);
    let wrongShown = 0;
    for (const x of report.results) {
      const m = x.method;
      t.is(x.metrics.count, 60, m);
      t.true(x.metrics.accuracy >= 0 && x.metrics.accuracy <= 1, m);
      t.is(x.metrics.perClass.length, 2, m);
      t.is(
        x.metrics.confusion.flat().reduce((a, b) => a + b, 0),
        60,
        m
      );
      t.is(x.train.source, 'measured now', m);
      for (const k of [
        'trainSeconds',
        'trainableParameters',
        'totalParameters',
        'peakRssBytes',
        'examplesSeen',
        'steps',
      ])
        positive(x.train[k], `${m} train.${k}`);
      t.true(x.train.totalParameters >= x.train.trainableParameters, m);
      for (const k of ['postsPerSecond', 'peakRssBytes', 'loadSeconds']) positive(x.predict[k], `${m} predict.${k}`);
      positive(x.predict.latencyMs.p50, `${m} p50`);
      t.true(x.predict.latencyMs.p95 >= x.predict.latencyMs.p50, m);
      t.is(x.predict.latencyMs.samples, 50, m);
      positive(x.runFolderBytes, `${m} run folder`);
      t.true(x.history.some((h) => h.type === 'progress') && x.history.some((h) => h.type === 'eval'), `${m} history`);
      t.is(x.train.peakGpuBytes, null, 'no CUDA here: null, not 0');
      // The dev posts (each run's own split, made again from run.json) it got most confidently wrong, explained.
      t.is(x.wrong.source, "dev posts (the run's own split)", m);
      t.true(x.wrong.posts.length <= 5, m);
      for (const w of x.wrong.posts) {
        t.not(w.explanation.label, w.gold, m);
        const shown = w.explanation.tokens.map((s) => s.text).join('');
        t.true(shown.length > 0 && w.explanation.text.startsWith(shown), m);
      }
      const confidences = x.wrong.posts.map((w) => w.explanation.probability);
      t.deepEqual(
        confidences,
        [...confidences].sort((a, b) => b - a),
        `${m}: most confident first`
      );
      wrongShown += x.wrong.posts.length;
    }
    t.true(wrongShown > 0, 'some run got some dev post wrong');
    const page = fs.readFileSync(path.join(OUT, 'report.html'), 'utf8');
    t.is((page.match(/<h4>Most confidently wrong: dev posts/g) ?? []).length, 4);
    t.regex(page, /<ol class="wrong"><li><p class="post"><span title="[+-]\d/);
    // lora/lora-head train a few adapters over the base; full trains every weight
    const by = Object.fromEntries(report.results.map((x) => [x.method, x]));
    t.true(by.lora.train.trainableParameters < by.lora.train.totalParameters / 10);
    t.is(by.full.train.trainableParameters, by.full.train.totalParameters);
    // the markdown summary: one row per method, no empty cell, nothing "not recorded"
    const md = fs.readFileSync(path.join(OUT, 'report.md'), 'utf8');
    const rows = md.split('\n').filter((l) => /^\| (embedding|lora|lora-head|full) \|/.test(l));
    t.is(rows.length, 4);
    for (const row of rows) {
      t.false(/\|\s*\|/.test(row), `empty cell in ${row}`);
      t.false(row.includes('not recorded') || row.includes('n/a'), row);
    }
    t.true(r.stdout.includes('report.html'));
  }
);

async function openBrowser(t) {
  if (!HAS_BROWSER) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  const { chromium } = require('playwright-core');
  const profile = tmpDir('q3n-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens a report: console errors, page errors and any request that is not the file itself are collected. */
async function load(context, file) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url === `file://${file}`) return route.continue();
    problems.push(`request: ${url}`);
    return route.abort();
  });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return { page, problems };
}

/** Pixels of a PNG that are not near-white, and those with colour (a series' line, bar or point), decoded by canvas. */
async function inkOf(context, png) {
  const blank = await context.newPage();
  const counts = await blank.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    let colour = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, gr, b] = [d[i], d[i + 1], d[i + 2]];
      if (r < 235 || gr < 235 || b < 235) ink++;
      if (Math.max(r, gr, b) - Math.min(r, gr, b) > 60) colour++;
    }
    return { ink, colour, total: c.width * c.height };
  }, png.toString('base64'));
  await blank.close();
  return counts;
}

async function checkCharts(t, context, file, expected) {
  const { page, problems } = await load(context, file);
  const figures = page.locator('figure.chart');
  t.is(await figures.count(), expected, 'charts in the page');
  for (let i = 0; i < expected; i++) {
    const fig = figures.nth(i);
    const title = (await fig.locator('svg .role-title-text').first().textContent()) ?? `chart ${i}`;
    const marks = await fig.locator('svg .role-mark > *').count();
    t.true(marks > 0, `${title}: ${marks} SVG marks`);
    const { ink, colour, total } = await inkOf(context, await fig.screenshot());
    t.true(ink / total > 0.02, `${title}: ${ink} of ${total} pixels drawn`);
    t.true(colour > 100, `${title}: ${colour} coloured pixels (the data, not just axes)`);
  }
  const shot = path.join(WORK, `${path.basename(path.dirname(file))}-${path.basename(file, '.html')}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  t.log(`screenshot: ${shot}`);
  t.deepEqual(problems, [], 'no console errors, no network');
  await page.close();
}

browserTest('report.html in headless Chromium: every chart drew, no console errors, no network', async (t) => {
  await compare();
  const b = await openBrowser(t);
  try {
    // loss (lora's over the vocabulary; the classifiers' over the labels), dev accuracy, accuracy vs speed,
    // training time, latency, memory
    await checkCharts(t, b.context, path.join(OUT, 'report.html'), 7);
  } finally {
    await b.close();
  }
});

test.serial('qwen3-native report <run> draws the run’s curves from its metrics.jsonl', async (t) => {
  await compare();
  const run = path.join(OUT, 'runs', 'lora');
  const lines = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map(JSON.parse);
  const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
  t.is(lines.filter((l) => l.type === 'progress').length, info.totals.steps);
  t.is(lines.filter((l) => l.type === 'eval').length, info.history.length);
  t.regex(info.data.train.sha256, /^[0-9a-f]{64}$/);
  const r = await cli(['report', run]);
  t.is(r.code, 0, r.stderr);
  const html = path.join(run, 'report.html');
  t.true(fs.readFileSync(html, 'utf8').includes('<svg'));
  t.true(fs.readFileSync(html, 'utf8').includes('<h2>Most confidently wrong: dev posts'), 'its dev posts by default');
  // --test: the posts of that file the run gets most confidently wrong, explained; --wrong-posts 0: none.
  const withTest = path.join(WORK, 'with-test.html');
  const rt = await cli(['report', run, '--test', SAMPLE_TEST, '--wrong-posts', '2', '--out', withTest]);
  t.is(rt.code, 0, rt.stderr);
  const page = fs.readFileSync(withTest, 'utf8');
  t.true(page.includes('<h2>Most confidently wrong: weibo_sample_test.txt</h2>'));
  t.true((page.match(/<p class="post">/g) ?? []).length <= 2);
  const none = path.join(WORK, 'none.html');
  t.is((await cli(['report', run, '--wrong-posts', '0', '--out', none])).code, 0);
  t.false(fs.readFileSync(none, 'utf8').includes('Most confidently wrong'));
  if (!HAS_BROWSER && !process.env.CI) return t.log(`charts not opened: no chromium at ${CHROMIUM}`);
  const b = await openBrowser(t);
  try {
    await checkCharts(t, b.context, html, 3); // loss, dev accuracy, learning rate
  } finally {
    await b.close();
  }
});

test.serial('a run’s dev posts are its split made again, or a reason when they cannot be', async (t) => {
  await compare();
  const { devPostsOf } = require('../../dist/compare/dev-posts');
  const run = path.join(OUT, 'runs', 'lora-head');
  const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
  const found = await devPostsOf(run);
  t.is(found.dev.texts.length, info.devExamples);
  t.is(found.dev.labels.length, info.devExamples);
  // Another file under the recorded name: refused by its sha256.
  const moved = path.join(WORK, 'moved-run');
  fs.cpSync(run, moved, { recursive: true });
  const changed = path.join(WORK, 'changed.txt');
  fs.writeFileSync(changed, fs.readFileSync(SAMPLE, 'utf8').replace(/\t1\n/, '\t0\n'));
  const json = JSON.parse(fs.readFileSync(path.join(moved, 'run.json'), 'utf8'));
  json.data.train.name = changed;
  fs.writeFileSync(path.join(moved, 'run.json'), JSON.stringify(json));
  t.regex((await devPostsOf(moved)).problem, /changed\.txt has changed since the run was trained/);
  json.data.train.name = path.join(WORK, 'nowhere.txt');
  fs.writeFileSync(path.join(moved, 'run.json'), JSON.stringify(json));
  t.regex((await devPostsOf(moved)).problem, /its training data .*nowhere\.txt is not a file here/);
});
