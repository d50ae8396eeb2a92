'use strict';
// Our tokenizer against transformers' AutoTokenizer over the same Qwen3 files: the same ids for all 10,000 shared
// posts and for the inputs tokenizers get wrong (emoji sequences, control and full-width characters, invisible
// characters, special-token text, very long posts, and the lora prompt with a post in it).
const path = require('path');
const { Qwen3Tokenizer, qwen3TokenizerFiles } = require('../../dist/qwen3/tokenizer');
const { DEFAULT_LORA_PROMPT } = require('../../dist/classifier/methods');
const { weiboLines } = require('../helpers/util');
const { refereeTest, refereeOnce } = require('../helpers/peers');
const { hardTokenizerCases } = require('../helpers/tokenizer-cases');

const POSTS = weiboLines(Infinity).map((l) => l.slice(0, l.lastIndexOf('\t')));
const HARD = [
  ...hardTokenizerCases(POSTS),
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
