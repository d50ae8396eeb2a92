#!/usr/bin/env node
// Downloads the public weibo_senti_100k corpus (119,988 Sina Weibo posts labelled 1 positive / 0 negative, from
// github.com/SophonPlus/ChineseNlpCorpus) and checks that the package's data loader reads it (the loader reads its
// `label,review` CSV as it is: no conversion).
//
//   node scripts/fetch-data.js [URL] [--out DIR] [--from github|hf] [--sha256 HEX] [--force]
//
// URL defaults to the GitHub copy (--from github). --from hf takes a copy on the Hugging Face Hub through
// HF_ENDPOINT, so HF_ENDPOINT=https://hf-mirror.com works where GitHub is slow or blocked. The download resumes
// where an interrupted one stopped (data/<name>.csv.incomplete) and uses the same helper as model downloads.
// Writes DIR/weibo_senti_100k.csv (as downloaded); DIR defaults to ./data. Needs the compiled package
// (npm run build:ts).
'use strict';
const fs = require('fs');
const path = require('path');

const NAME = 'weibo_senti_100k';
const SOURCES = {
  github: () => `https://raw.githubusercontent.com/SophonPlus/ChineseNlpCorpus/master/datasets/${NAME}/${NAME}.csv`,
  // A third-party copy of the same CSV on the Hub (dataset repo dirtycomputer/weibo_senti_100k).
  hf: () =>
    `${(process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '')}` +
    `/datasets/dirtycomputer/${NAME}/resolve/main/${NAME}.csv`,
};

function usage(message) {
  if (message) process.stderr.write(`${message}\n\n`);
  process.stderr.write(
    'Usage: node scripts/fetch-data.js [URL] [--out DIR] [--from github|hf] [--sha256 HEX] [--force]\n' +
      `Default URL (--from github): ${SOURCES.github()}\n` +
      `--from hf: ${SOURCES.hf()} (honours HF_ENDPOINT, e.g. https://hf-mirror.com)\n`
  );
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const args = { url: undefined, out: 'data', from: 'github', sha256: undefined, force: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--help' || arg === '-h') usage();
    else if (arg === '--out') args.out = value();
    else if (arg === '--from') args.from = value();
    else if (arg === '--sha256') args.sha256 = value().toLowerCase();
    else if (arg === '--force') args.force = true;
    else if (arg.startsWith('--')) usage(`Unknown option ${arg}`);
    else if (args.url === undefined) args.url = arg;
    else usage(`Unexpected argument ${arg}`);
  }
  if (!SOURCES[args.from]) usage(`--from must be one of ${Object.keys(SOURCES).join(', ')}`);
  if (args.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(args.sha256)) usage('--sha256 needs 64 hex digits');
  if (args.url === undefined) args.url = SOURCES[args.from]();
  if (!/^https?:\/\//.test(args.url)) usage(`Not an http(s) URL: ${args.url}`);
  return args;
}

function loadPackage() {
  const dist = path.join(__dirname, '..', 'dist');
  try {
    return {
      ...require(path.join(dist, 'hub', 'download')),
      ...require(path.join(dist, 'hub', 'http')),
      ...require(path.join(dist, 'util', 'progress')),
      ...require(path.join(dist, 'classifier', 'data')),
    };
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND') {
      process.stderr.write('The compiled package is missing: run `npm run build:ts` first.\n');
      process.exit(1);
    }
    throw error;
  }
}

/** The downloaded file must be the CSV itself, which the package's loader reads (it lists every bad row). */
async function check(csvFile, loadLabelledFile) {
  const head = fs.readFileSync(csvFile, { encoding: 'utf8', flag: 'r' }).slice(0, 200);
  if (head.startsWith('version https://git-lfs')) {
    throw new Error(`${csvFile} is a Git LFS pointer, not the data: use another URL (for example --from hf)`);
  }
  if (/^\s*</.test(head)) throw new Error(`${csvFile} is an HTML page, not CSV: check the URL`);
  const data = await loadLabelledFile(csvFile);
  const positive = data.labels.filter((label) => label === 1).length;
  return { posts: data.texts.length, positive, negative: data.texts.length - positive };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { downloadFile, DownloadError, createProgress, loadLabelledFile } = loadPackage();
  const outDir = path.resolve(args.out);
  fs.mkdirSync(outDir, { recursive: true });
  const csvFile = path.join(outDir, `${NAME}.csv`);

  if (fs.existsSync(csvFile) && !args.force) {
    process.stderr.write(`${csvFile} already exists (--force downloads it again)\n`);
  } else {
    process.stderr.write(`Downloading ${args.url}\n`);
    const progress = createProgress({ label: `${NAME}.csv`, unit: 'bytes' });
    try {
      const result = await downloadFile(args.url, csvFile, {
        expectedSha256: args.sha256,
        onProgress: (downloaded, total) => {
          if (total) progress.setTotal(total);
          progress.update(downloaded);
        },
      });
      progress.done();
      process.stderr.write(`Saved ${csvFile} (${result.size} bytes, sha256 ${result.sha256})\n`);
    } catch (error) {
      progress.done('failed');
      if (error instanceof DownloadError) {
        const hint =
          error.kind === 'network'
            ? ' Check the connection; where GitHub is unreachable try `--from hf`' +
              ' with HF_ENDPOINT=https://hf-mirror.com,' +
              ` or save the CSV from a browser as ${csvFile} and run this again (it then only checks it).`
            : '';
        process.stderr.write(`Download failed: ${error.message}.${hint} Run again to resume.\n`);
        process.exit(1);
      }
      throw error;
    }
  }

  const stats = await check(csvFile, loadLabelledFile);
  process.stderr.write(
    `${csvFile}: ${stats.posts} posts (${stats.positive} positive, ${stats.negative} negative); ` +
      `train on it with --train ${path.relative(process.cwd(), csvFile) || csvFile}\n`
  );
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error && error.message ? error.message : error}\n`);
    process.exit(1);
  });
}

module.exports = { SOURCES };
