// Whether a safetensors file's floating-point tensors hold NaN or infinity: a run saved by a training that diverged
// loads without complaint and then answers every request with non-finite probabilities (served as 500s after the
// server said it was ready). Read per tensor; an adapter or a head is MBs, checked in milliseconds.
import * as fs from 'fs';
import { readSafetensorsHeader } from './safetensors';

/** The bits of an exponent of all ones (infinity or NaN) in each 16-bit float format. */
const HALF_EXPONENT: Record<string, number> = { BF16: 0x7f80, F16: 0x7c00 };

function finite(dtype: string, bytes: Buffer): boolean {
  if (dtype === 'F32' || dtype === 'F64') {
    const a =
      dtype === 'F32'
        ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
        : new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
    return true;
  }
  const mask = HALF_EXPONENT[dtype];
  if (mask === undefined) return true;
  const a = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  for (let i = 0; i < a.length; i++) if ((a[i] & mask) === mask) return false;
  return true;
}

/** The names of the tensors in `file` that hold a NaN or an infinity, in the header's order. */
export async function nonFiniteTensors(file: string): Promise<string[]> {
  const header = await readSafetensorsHeader(file);
  const handle = await fs.promises.open(file, 'r');
  const bad: string[] = [];
  try {
    for (const name of header.keys) {
      const {
        dtype,
        data_offsets: [begin, end],
      } = header.tensors[name];
      if (!(dtype in HALF_EXPONENT) && dtype !== 'F32' && dtype !== 'F64') continue;
      // A fresh buffer per tensor: its offset is aligned for the typed array views above.
      const bytes = Buffer.alloc(end - begin);
      await handle.read(bytes, 0, bytes.length, header.dataOffset + begin);
      if (!finite(dtype, bytes)) bad.push(name);
    }
  } finally {
    await handle.close();
  }
  return bad;
}
