'use strict';
// The inputs tokenizers get wrong (emoji sequences, control and full-width characters, invisible characters,
// special-token text, very long posts), shared by the referee's tokenizer test and bench/tokenizer-parity.js.

/** The hard cases; `posts` (the shared posts' texts) make the two long ones. */
function hardTokenizerCases(posts) {
  const long = posts.slice(0, 60).join('');
  return [
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
    long,
    long.repeat(4),
  ];
}

module.exports = { hardTokenizerCases };
