'use strict';
// Terminal widths in tables: emoji take two columns as one unit (skin tones, ZWJ sequences, VS16), Chinese two,
// combining marks none, so the columns after a post line up.
const test = require('ava');
const { displayWidth, formatTable, truncate } = require('../../dist/cli/table');

const WIDTHS = [
  ['abc', 3],
  ['今天天气真好', 12],
  ['🚚', 2],
  ['🚀', 2],
  ['✅', 2],
  ['❤️', 2],
  ['👍🏻', 2],
  ['👨‍👩‍👧‍👦', 2],
  ['🏳️‍🌈', 2],
  ['e\u0301', 1],
  ['ＡＢＣ', 6],
  ['零宽\u200b', 4],
];

for (const [text, width] of WIDTHS) {
  test(`${JSON.stringify(text)} takes ${width} columns`, (t) => {
    t.is(displayWidth(text), width);
  });
}

test('a table with emoji in a column lines up the next column', (t) => {
  const table = formatTable(
    ['post', 'label'],
    [
      ['好👍🏻', 'a'],
      ['❤️❤️', 'b'],
      ['ok', 'c'],
    ]
  );
  const lines = table.split('\n').filter((l) => !l.startsWith('-'));
  const labelColumn = lines.map((l) => displayWidth(l.slice(0, l.search(/[abc]$|label$/))));
  t.is(new Set(labelColumn).size, 1, table);
});

const graphemes = (text) =>
  [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((g) => g.segment);

test('truncate never cuts an emoji apart and stays within the width', (t) => {
  for (const text of ['👨‍👩‍👧‍👦👨‍👩‍👧‍👦👨‍👩‍👧‍👦👨‍👩‍👧‍👦', '好👍🏻好👍🏻好👍🏻好👍🏻', '🏳️‍🌈🏳️‍🌈🏳️‍🌈🏳️‍🌈']) {
    for (const width of [3, 4, 5, 6, 7]) {
      const cut = truncate(text, width);
      t.true(displayWidth(cut) <= width, `${cut} in ${width}`);
      const kept = graphemes(cut.replace(/…$/, ''));
      t.deepEqual(kept, graphemes(text).slice(0, kept.length), `${cut}: whole emoji only`);
    }
  }
  t.is(truncate('👍🏻👍🏻👍🏻', 5), '👍🏻👍🏻…');
  t.is(truncate('👍🏻👍🏻', 4), '👍🏻👍🏻');
});
