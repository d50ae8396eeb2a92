'use strict';
// Reading whole safetensors files back as float32, for tests: the package itself only writes them and reads their
// headers (lib/qwen3/safetensors.ts); the core reads the data.
const fs = require('fs');
const { readSafetensorsHeader } = require('../../dist/qwen3/safetensors');

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function bfloat16BitsToFloat32(bits) {
  scratchBits[0] = (bits & 0xffff) << 16;
  return scratchFloat[0];
}

function float16BitsToFloat32(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const WIDTH = { F32: 4, BF16: 2, F16: 2 };

/** Every floating-point tensor of a file as float32: { header, tensors: { name: { dtype, shape, data } } }. */
async function readSafetensors(file) {
  const header = await readSafetensorsHeader(file);
  const bytes = await fs.promises.readFile(file);
  const tensors = {};
  for (const name of header.keys) {
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = header.tensors[name];
    const width = WIDTH[dtype];
    if (!width) throw new Error(`${file}: tensor ${name} has dtype ${dtype}, which readSafetensors does not convert`);
    const start = header.dataOffset + begin;
    const data = new Float32Array((end - begin) / width);
    for (let i = 0; i < data.length; i++) {
      const at = start + i * width;
      if (dtype === 'F32') data[i] = bytes.readFloatLE(at);
      else if (dtype === 'BF16') data[i] = bfloat16BitsToFloat32(bytes.readUInt16LE(at));
      else data[i] = float16BitsToFloat32(bytes.readUInt16LE(at));
    }
    tensors[name] = { dtype, shape, data };
  }
  return { header, tensors };
}

module.exports = { readSafetensors, bfloat16BitsToFloat32, float16BitsToFloat32 };
