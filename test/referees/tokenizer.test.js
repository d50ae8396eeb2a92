'use strict';
// Our tokenizer against transformers' AutoTokenizer over the same Qwen3 files: the same ids for all 10,000 shared
// posts and for the inputs tokenizers get wrong (emoji sequences, control and full-width characters, invisible
// characters, special-token text, very long posts, and the lora prompt with a post in it).
const path = require('path');
const { Qwen3Tokenizer, qwen3TokenizerFiles } = require('../../dist/qwen3/tokenizer');
const { DEFAULT_LORA_PROMPT } = require('../../dist/classifier/methods');
const { weiboLines } = require('../helpers/util');
const { refereeTest, refereeOnce } = require('../helpers/peers');

const POSTS = weiboLines(Infinity).map((l) => l.slice(0, l.lastIndexOf('\t')));
const LONG = POSTS.slice(0, 60).join('');
const HARD = [
  '',
  ' ',
  '😀',
  '👍🏻👨‍👩‍👧‍👦🏳️‍🌈 ❤️‍🔥',
  '今天😂😂😂太好笑了🤣',
  '控制字符\u0000\u0001\u0007\u001b[31m红色\u001b[0m\u007f',
  'tab\tnew\nline\r\nreturn\rform\f vertical\v',
  'ＡＢＣ１２３！？，。：；「全角」～　全角空格',
  '零宽\u200b连接\u200d不连\u200c字\ufeffBOM',
  'e\u0301 é café\u0301 ñ',
  '한국어 日本語のテキスト Ελληνικά Русский עברית العربية',
  '<|im_end|> <|endoftext|><|im_start|>user',
  '   leading and trailing   ',
  'http://t.cn/RxYz12 @用户名 #话题# [哈哈][泪]',
  '1234567890 3.14159 1e-6 -42',
  '\ufffd replacement \ufffd\ufffd',
  LONG,
  LONG.repeat(4),
  DEFAULT_LORA_PROMPT.replace('{text}', POSTS[0]),
  DEFAULT_LORA_PROMPT.replace('{text}', '😀 ＡＢＣ\n\t'),
];

const referee = refereeOnce('hf_tokenize.py', () => ({
  tokenizer_dir: path.dirname(qwen3TokenizerFiles().tokenizerJson),
  texts: [...POSTS, ...HARD],
}));

refereeTest(
  `AutoTokenizer and ours give identical ids on the ${POSTS.length} posts and ${HARD.length} hard cases`,
  async (t) => {
    t.true(POSTS.length >= 10000, `the shared posts: ${POSTS.length}`);
    const { ids: theirs, class: cls } = await referee();
    const tokenizer = await Qwen3Tokenizer.bundled();
    const ours = await tokenizer.encodeBatch([...POSTS, ...HARD]);
    const differ = ours.map((ids, i) => i).filter((i) => JSON.stringify(ours[i]) !== JSON.stringify(theirs[i]));
    const tokens = ours.reduce((n, ids) => n + ids.length, 0);
    t.log(
      `${cls}: ${ours.length} texts, ${tokens} tokens, ${differ.length} differ; longest ${Math.max(...ours.map((x) => x.length))} tokens`
    );
    for (const i of differ.slice(0, 5))
      t.log(
        `text ${i} ${JSON.stringify([...POSTS, ...HARD][i]).slice(0, 80)}: ours ${ours[i].slice(0, 20)} theirs ${theirs[i].slice(0, 20)}`
      );
    t.is(differ.length, 0);
  }
);
