'use strict';
// The pure-JavaScript @huggingface/tokenizers (the package's tokenizer) against the Rust binding of Hugging Face's
// tokenizers it replaced (@anush008/tokenizers 0.6.0). Both read the bundled Qwen3 tokenizer.json; the ids of the
// 10,000 shared posts (and the hard cases of the referee test) are compared one by one, and each side is timed on the
// same posts (best of 3, after a warm-up), in this process: the Rust side's encodeBatch on its own thread pool, the
// JavaScript side on this thread.
//
//   npm install --no-save @anush008/tokenizers@0.6.0 && node bench/tokenizer-parity.js
//
// The result and the decision it led to are in bench/RESULTS.md ("Tokenizer: the pure-JavaScript candidate").
const fs = require('fs');
const path = require('path');
const { hardTokenizerCases } = require('../test/helpers/tokenizer-cases');

const ROOT = path.join(__dirname, '..');
const DATA = path.join(ROOT, '..', 'shared', 'data', 'weibo2018', 'train.txt');
const ASSETS = path.join(ROOT, 'assets', 'qwen3-tokenizer');

function posts() {
  return fs
    .readFileSync(DATA, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.slice(0, l.lastIndexOf('\t')));
}

async function best(label, fn) {
  await fn(); // warm-up: the first call compiles the regexes and fills caches
  let seconds = Infinity;
  let value;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    value = await fn();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(`${label}: ${seconds.toFixed(3)} s (best of 3)`);
  return { value, seconds };
}

async function main() {
  const { Tokenizer } = require('@huggingface/tokenizers');
  const rustTokenizers = require('@anush008/tokenizers');
  const all = posts();
  const hard = hardTokenizerCases(all);
  const texts = [...all, ...hard];

  let t0 = Date.now();
  const json = JSON.parse(fs.readFileSync(path.join(ASSETS, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(fs.readFileSync(path.join(ASSETS, 'tokenizer_config.json'), 'utf8'));
  const js = new Tokenizer(json, config);
  console.log(`@huggingface/tokenizers: loaded in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  t0 = Date.now();
  const rust = rustTokenizers.Tokenizer.fromFile(path.join(ASSETS, 'tokenizer.json'));
  console.log(`@anush008/tokenizers: loaded in ${((Date.now() - t0) / 1000).toFixed(2)} s`);

  const encodeJs = (list) => list.map((t) => js.encode(t, { add_special_tokens: false }).ids);
  const encodeRust = async (list) =>
    (await rust.encodeBatch(list, { addSpecialTokens: false })).map((e) => Array.from(e.getIds()));
  const ours = await encodeRust(texts);
  const theirs = encodeJs(texts);
  const differ = texts.map((_, i) => i).filter((i) => JSON.stringify(ours[i]) !== JSON.stringify(theirs[i]));
  const postsDiffer = differ.filter((i) => i < all.length);
  const tokens = ours.slice(0, all.length).reduce((n, ids) => n + ids.length, 0);
  console.log(
    `ids: ${all.length} posts (${tokens} tokens): ${postsDiffer.length} differ; ${hard.length} hard cases: ` +
      `${differ.length - postsDiffer.length} differ`
  );
  for (const i of differ.slice(0, 8))
    console.log(
      `  text ${i} ${JSON.stringify(texts[i]).slice(0, 60)}: rust ${ours[i].slice(0, 12)} js ${theirs[i].slice(0, 12)}`
    );

  const r = await best(`@anush008/tokenizers encodeBatch, ${all.length} posts`, () => encodeRust(all));
  const j = await best(`@huggingface/tokenizers encode, ${all.length} posts`, async () => encodeJs(all));
  console.log(
    `tokens/s: rust ${(tokens / r.seconds).toFixed(0)}, js ${(tokens / j.seconds).toFixed(0)} ` +
      `(js takes ${(j.seconds / r.seconds).toFixed(1)}x as long)`
  );
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
