const test = require('ava');
const fs = require('fs');
const path = require('path');
const {
  writeSafetensors,
  readSafetensorsHeader,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} = require('../../dist/qwen3/safetensors');
const { readSafetensors, bfloat16BitsToFloat32, float16BitsToFloat32 } = require('../helpers/safetensors');
const { tmpDir } = require('../helpers/util');

const root = tmpDir('qwen3-native-st-');
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

function tempDir() {
  return fs.mkdtempSync(path.join(root, 'case-'));
}

function f32FromBits(bits) {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

test('float32 -> bfloat16 rounds to nearest even', (t) => {
  const cases = [
    [1, 0x3f80],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [1 / 3, 0x3eab], // 0x3EAAAAAB rounds up
    [Math.PI, 0x4049], // 0x40490FDB rounds down
    [f32FromBits(0x3f808000), 0x3f80], // exact tie, kept bit even: stays
    [f32FromBits(0x3f818000), 0x3f82], // exact tie, kept bit odd: rounds up to even
    [f32FromBits(0x3f808001), 0x3f81], // just above the tie
    [f32FromBits(0x7f7fffff), 0x7f80], // largest float32 overflows to +inf
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [f32FromBits(0x00000001), 0x0000], // smallest subnormal rounds to zero
    [f32FromBits(0x00018000), 0x0002], // subnormal tie, odd -> even
  ];
  for (const [value, bits] of cases) {
    t.is(float32ToBfloat16Bits(value), bits, `bf16 of ${value} (0x${bits.toString(16)})`);
  }
  t.is(float32ToBfloat16Bits(NaN) & 0x7fc0, 0x7fc0, 'NaN stays a quiet NaN');
  t.is(bfloat16BitsToFloat32(0x3f80), 1);
  t.is(bfloat16BitsToFloat32(0xc049), -3.140625);
});

test('float32 -> float16 rounds to nearest even with subnormals and overflow', (t) => {
  const cases = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff], // largest half
    [65519, 0x7bff], // below the rounding midpoint
    [65520, 0x7c00], // the midpoint rounds to even, which is infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // half of it: tie, rounds to even (zero)
    [2 ** -25 * 1.0000001, 0x0001], // just above the tie
    [3 * 2 ** -25, 0x0002], // 1.5 units: tie, rounds to even (2)
    [5 * 2 ** -25, 0x0002], // 2.5 units: tie, rounds to even (2)
    [1 + 2 ** -11, 0x3c00], // tie between 1 and next: even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: rounds up to even
    [1e-10, 0x0000],
  ];
  for (const [value, bits] of cases) {
    t.is(float32ToFloat16Bits(value), bits, `f16 of ${value} (0x${bits.toString(16)})`);
  }
  const nan = float32ToFloat16Bits(NaN);
  t.true((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, 'NaN stays NaN');
  t.is(float16BitsToFloat32(0x3c00), 1);
  t.is(float16BitsToFloat32(0x0001), 2 ** -24);
  t.is(float16BitsToFloat32(0x7bff), 65504);
  t.is(float16BitsToFloat32(0xfc00), -Infinity);
});

test('every float16 value converts back to itself', (t) => {
  let mismatches = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    const exponent = (bits >> 10) & 0x1f;
    if (exponent === 0x1f && bits & 0x3ff) continue; // NaN payloads are canonicalised
    if (float32ToFloat16Bits(float16BitsToFloat32(bits)) !== bits) mismatches++;
  }
  t.is(mismatches, 0);
});

test('header: u64 length, sorted keys, offsets relative to data, space padding to 8', async (t) => {
  const file = path.join(tempDir(), 'a.safetensors');
  const tensors = {
    'b.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    'a.weight': { dtype: 'BF16', shape: [3], data: new Float32Array([1, -2, 0.5]) },
    'c.bias': { dtype: 'F16', shape: [], data: new Float32Array([0.25]) },
  };
  await writeSafetensors(file, tensors, { format: 'pt', zeta: 'z' });
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  t.is(headerLength % 8, 0);
  const headerText = bytes.subarray(8, 8 + headerLength).toString('utf8');
  t.regex(headerText, /^\{.*\} *$/);
  const header = JSON.parse(headerText);
  t.deepEqual(Object.keys(header), ['__metadata__', 'a.weight', 'b.weight', 'c.bias']);
  t.deepEqual(header.__metadata__, { format: 'pt', zeta: 'z' });
  // Data is laid out widest dtype first (F32, then the 2-byte dtypes by name).
  t.deepEqual(header['b.weight'], { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  t.deepEqual(header['a.weight'], { dtype: 'BF16', shape: [3], data_offsets: [24, 30] });
  t.deepEqual(header['c.bias'], { dtype: 'F16', shape: [], data_offsets: [30, 32] });
  t.is(bytes.length, 8 + headerLength + 32);
  const data = bytes.subarray(8 + headerLength);
  t.is(data.readFloatLE(20), 6);
  t.is(data.readUInt16LE(24), 0x3f80);
  t.is(data.readUInt16LE(26), 0xc000);
  t.is(data.readUInt16LE(28), 0x3f00);
  t.is(data.readUInt16LE(30), 0x3400);

  const parsed = await readSafetensorsHeader(file);
  t.is(parsed.headerLength, headerLength);
  t.is(parsed.dataOffset, 8 + headerLength);
  t.deepEqual(parsed.keys, ['a.weight', 'b.weight', 'c.bias']);
  const { tensors: back } = await readSafetensors(file);
  t.deepEqual(Array.from(back['b.weight'].data), [1, 2, 3, 4, 5, 6]);
  t.deepEqual(Array.from(back['a.weight'].data), [1, -2, 0.5]);
  t.deepEqual(Array.from(back['c.bias'].data), [0.25]);
});

test('no metadata, and no temporary files left behind', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'b.safetensors');
  await writeSafetensors(file, { x: { dtype: 'F32', shape: [0], data: new Float32Array(0) } });
  const header = await readSafetensorsHeader(file);
  t.is(header.metadata, undefined);
  t.deepEqual(header.tensors.x.data_offsets, [0, 0]);
  t.deepEqual(fs.readdirSync(dir), ['b.safetensors']);
});

test('rejects malformed tensors with named messages', async (t) => {
  const file = path.join(tempDir(), 'c.safetensors');
  await t.throwsAsync(writeSafetensors(file, { x: { dtype: 'F64', shape: [1], data: new Float32Array(1) } }), {
    message: 'Expected one of "F32", "BF16", "F16" for tensors["x"].dtype but received "F64"',
  });
  await t.throwsAsync(writeSafetensors(file, { x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }), {
    instanceOf: RangeError,
    message: /Float32Array of 4 elements/,
  });
  await t.throwsAsync(writeSafetensors(file, { x: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } }), {
    message: 'Expected non-negative integer for tensors["x"].shape[0] but received -1',
  });
  await t.throwsAsync(writeSafetensors(file, { x: { dtype: 'F32', shape: [1], data: [1] } }), {
    instanceOf: TypeError,
    message: 'Expected Float32Array for tensors["x"].data but received [1]',
  });
  await t.throwsAsync(writeSafetensors(file, {}, { format: 1 }), {
    message: 'Expected string for metadata["format"] but received 1',
  });
  await t.throwsAsync(writeSafetensors(path.join(tempDir(), 'missing', 'd.safetensors'), {}), { code: 'ENOENT' });
  t.false(fs.existsSync(file));
});

test('readSafetensorsHeader rejects files that are not safetensors', async (t) => {
  const file = path.join(tempDir(), 'bad.safetensors');
  fs.writeFileSync(file, Buffer.from([1, 2, 3]));
  await t.throwsAsync(readSafetensorsHeader(file), { message: /not a valid safetensors file/ });
  const lying = Buffer.alloc(16);
  lying.writeBigUInt64LE(1000n, 0);
  fs.writeFileSync(file, lying);
  await t.throwsAsync(readSafetensorsHeader(file), { message: /header length 1000 does not fit a file of 16 bytes/ });
});
