'use strict';
// Damaged safetensors files for the fuzz test, made deterministically from (seed, case number) and a valid file:
// bit flips, truncations, huge and wrong lengths, bad JSON, bad dtypes/shapes/offsets, deep nesting, long strings,
// malformed numbers, unicode escapes and invalid UTF-8. The same case number always gives the same bytes, so a
// failure can be replayed alone (QWEN3_FUZZ_ONLY=<case>).
const { SeededRandom } = require('../../dist/util/seeded-random');

function headerOf(file) {
  const length = Number(file.readBigUInt64LE(0));
  return { length, text: file.subarray(8, 8 + length).toString('utf8'), data: file.subarray(8 + length) };
}

function assemble(headerBytes, data, length = headerBytes.length) {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt.asUintN(64, BigInt(length)));
  return Buffer.concat([prefix, headerBytes, data]);
}

const pick = (rng, xs) => xs[rng.nextInt(xs.length)];

const DTYPES = [
  'F32',
  'BF16',
  'F16',
  'F64',
  'I64',
  'I32',
  'I16',
  'I8',
  'U8',
  'U16',
  'U32',
  'U64',
  'BOOL',
  'F8_E4M3',
  'F8_E5M2',
  'Q4',
  '',
  'f32',
  'constructor',
  '__proto__',
  'F32\u0000',
  1,
  null,
  [],
  {},
  true,
];
const SHAPES = [
  [],
  [0],
  [-1],
  [1.5],
  ['2'],
  [2 ** 31, 2 ** 31],
  [2 ** 32, 2 ** 32],
  [2 ** 32, 2 ** 32, 4],
  [2 ** 53],
  [2 ** 62, 4],
  [2 ** 63],
  [1e300],
  Array(17).fill(1),
  Array(1000).fill(1),
  [[2]],
  null,
  'x',
  {},
  [2, -2],
  [0, 2 ** 60],
];
const NUMBERS = [
  '1.2.3',
  '01',
  '1e',
  '-',
  '+1',
  '.5',
  '1e999',
  '-1e999',
  'NaN',
  'Infinity',
  '-0',
  '1E+2',
  '0x10',
  '4.0.0',
  '1..2',
  '1e5.0',
  '2e-400',
  '9007199254740993',
  '18446744073709551616',
  '1_000',
  '٣',
];
const ESCAPES = [
  '\\ud800\\u0041',
  '\\ud800',
  '\\udc00',
  '\\ud83d\\ude00',
  '\\u0000',
  '\\uDBFF\\uDFFF',
  '\\ud800\\ud800',
  '\\u00',
  '\\uZZZZ',
  '\\x41',
  '\\',
  '\\ud800\\',
  '\\ud800\\u',
  '\\"',
];
const RAW_BYTES = [
  [0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe4, 0xb8],
  [0x80],
  [0x00],
  [0x0a],
  [0xef, 0xbb, 0xbf],
];

function mutateEntry(rng, entry) {
  const e = typeof entry === 'object' && entry !== null ? { ...entry } : {};
  switch (rng.nextInt(6)) {
    case 0:
      e.dtype = pick(rng, DTYPES);
      break;
    case 1:
      e.shape = pick(rng, SHAPES);
      break;
    case 2: {
      const [b, en] = Array.isArray(entry?.data_offsets) ? entry.data_offsets : [0, 4];
      e.data_offsets = pick(rng, [
        [en, b],
        [-4, 0],
        [b],
        [b, en, en],
        [b, 2 ** 64],
        [b + 0.5, en + 0.5],
        [String(b), String(en)],
        null,
        [b + 1, en + 1],
        [b, en + 1e6],
        [b, b],
        [2 ** 53, 2 ** 53 + 4],
        [-(2 ** 63), en],
      ]);
      break;
    }
    case 3:
      delete e[pick(rng, ['dtype', 'shape', 'data_offsets'])];
      break;
    case 4:
      e[pick(rng, ['extra', 'dtype ', 'Shape'])] = pick(rng, [1, 'x', null, [1], { a: 1 }]);
      break;
    default:
      return pick(rng, [null, 1, 'F32', [], [entry], true]);
  }
  return e;
}

function structural(rng, header) {
  const doc = JSON.parse(header.text);
  const rounds = 1 + rng.nextInt(3);
  for (let r = 0; r < rounds; r++) {
    const name = pick(
      rng,
      Object.keys(doc).filter((k) => k !== '__metadata__')
    );
    switch (rng.nextInt(5)) {
      case 0:
      case 1:
        doc[name] = mutateEntry(rng, doc[name]);
        break;
      case 2: {
        const to = pick(rng, [
          '',
          '__metadata__',
          'x'.repeat(1 + rng.nextInt(300)),
          '\u4e2d\u6587',
          '\ud800',
          'a\u0000b',
          name + '.',
        ]);
        doc[to] = doc[name];
        delete doc[name];
        break;
      }
      case 3:
        doc.__metadata__ = pick(rng, [1, 'x', null, [1, 2], { format: 1 }, { a: { b: 'c' } }]);
        break;
      default:
        doc[`extra.${r}`] = mutateEntry(rng, doc[name]);
    }
  }
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

function textual(rng, header) {
  let text = header.text;
  const numbers = [...text.matchAll(/-?\d+(\.\d+)?/g)];
  const names = [...text.matchAll(/"([^"\\]+)"/g)];
  switch (rng.nextInt(7)) {
    case 0: {
      const m = pick(rng, numbers);
      text = text.slice(0, m.index) + pick(rng, NUMBERS) + text.slice(m.index + m[0].length);
      break;
    }
    case 1: {
      const m = pick(rng, names);
      const at = m.index + 1 + rng.nextInt(m[1].length);
      text = text.slice(0, at) + pick(rng, ESCAPES) + text.slice(at);
      break;
    }
    case 2: {
      const m = pick(rng, names);
      const at = Buffer.byteLength(text.slice(0, m.index + 1));
      const bytes = Buffer.from(text, 'utf8');
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(pick(rng, RAW_BYTES)), bytes.subarray(at)]);
    }
    case 3: {
      const at = rng.nextInt(text.length);
      text =
        text.slice(0, at) +
        pick(rng, ['{', '}', '[', ']', ',', ':', '"', "'", '//', '/*', '\t', 'x', '\u0001']) +
        text.slice(at);
      break;
    }
    case 4:
      text = text.slice(0, rng.nextInt(text.length));
      break;
    case 5: {
      // a duplicate of a tensor's entry, with other offsets
      const m = pick(
        rng,
        names.filter((n) => n[1] !== 'dtype' && n[1] !== 'shape' && n[1] !== 'data_offsets')
      );
      text = `{"${m[1]}":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},${text.slice(1)}`;
      break;
    }
    default:
      text =
        pick(rng, ['\ufeff', ' ', '', '[', 'null', '"x"']) + text + pick(rng, ['', ' ', 'x', '}', '\u0000', ',{}']);
  }
  return Buffer.from(text, 'utf8');
}

function special(rng) {
  const depth = pick(rng, [10, 63, 64, 65, 66, 100, 1000, 100_000]);
  switch (rng.nextInt(4)) {
    case 0:
      return Buffer.from(`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    case 1:
      return Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    case 2: {
      const n = pick(rng, [1000, 100_000, 1_000_000]);
      const name = pick(rng, ['x', '\u4e2d', '\\u4e2d', '\\ud83d\\ude00']).repeat(n);
      return Buffer.from(`{"${name}":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`);
    }
    default:
      return Buffer.from(
        `{"w":{"dtype":"${'F'.repeat(pick(rng, [1, 100, 100_000]))}","shape":[1],"data_offsets":[0,4]}}`
      );
  }
}

const KINDS = [
  'header bit flips',
  'file bit flips',
  'truncation',
  'length prefix',
  'entry values',
  'header text',
  'nesting and long strings',
];

/** Case `index` of the run seeded `seed`, from a valid file: { kind, bytes }. */
function mutant(seed, index, valid) {
  const rng = new SeededRandom(seed * 1_000_003 + index);
  const header = headerOf(valid);
  const kind = KINDS[index % KINDS.length];
  let bytes;
  let headerBytes;
  switch (kind) {
    case 'header bit flips':
    case 'file bit flips': {
      bytes = Buffer.from(valid);
      const span = kind === 'header bit flips' ? [8, 8 + header.length] : [0, bytes.length];
      const flips = 1 + rng.nextInt(16);
      for (let f = 0; f < flips; f++) bytes[span[0] + rng.nextInt(span[1] - span[0])] ^= 1 << rng.nextInt(8);
      return { kind, bytes };
    }
    case 'truncation':
      return { kind, bytes: valid.subarray(0, rng.nextInt(valid.length)) };
    case 'length prefix': {
      const length = pick(rng, [
        0,
        1,
        7,
        header.length - 1,
        header.length + 1,
        valid.length - 8,
        valid.length - 7,
        2 ** 31,
        2 ** 32,
        100 * 2 ** 20,
        100 * 2 ** 20 + 1,
        2 ** 53,
        -1,
        rng.nextUint32() * 2 ** 20,
      ]);
      return { kind, bytes: assemble(Buffer.from(header.text, 'utf8'), header.data, length) };
    }
    case 'entry values':
      headerBytes = structural(rng, header);
      break;
    case 'header text':
      headerBytes = textual(rng, header);
      break;
    default:
      headerBytes = special(rng);
  }
  // Mostly a consistent length prefix (so the parser sees the damaged JSON), sometimes one that is off.
  const off = rng.nextInt(5) === 0 ? pick(rng, [-2, -1, 1, 2, 1000]) : 0;
  return { kind, bytes: assemble(headerBytes, header.data, headerBytes.length + off) };
}

module.exports = { mutant, KINDS };
