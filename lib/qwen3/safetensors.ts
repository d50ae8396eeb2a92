// Writes files in the safetensors format that Hugging Face model folders use, and reads their headers (weights-check.ts:
// config.json against the shapes, before the core allocates):
//   [u64 little-endian N][N bytes of UTF-8 JSON header, space-padded][raw little-endian tensor data]
// The C++ core reads the same files, so everything here follows the reference implementation byte for byte.
import * as fs from 'fs';
import * as path from 'path';
import * as crypto from 'crypto';
import * as os from 'os';
import {
  expectNonEmptyString,
  expectPlainObject,
  expectString,
  expectOneOf,
  expectArray,
  expectNonNegativeInteger,
  invalidTypeError,
  expectationMessage,
} from '../util/is';
import { openRegularFile } from '../util/regular-file';

export type WritableDType = 'F32' | 'BF16' | 'F16';
export const WRITABLE_DTYPES: readonly WritableDType[] = ['F32', 'BF16', 'F16'];

export interface TensorToWrite {
  dtype: WritableDType;
  shape: number[];
  /** row-major float32 values; converted to dtype on write */
  data: Float32Array;
}

export interface SafetensorsTensorInfo {
  dtype: string;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data section */
  data_offsets: [number, number];
}

export interface SafetensorsHeader {
  /** value of the u64 at the start of the file */
  headerLength: number;
  /** absolute file offset of the data section: 8 + headerLength */
  dataOffset: number;
  metadata: Record<string, string> | undefined;
  tensors: Record<string, SafetensorsTensorInfo>;
  /** tensor names in the order they appear in the JSON header */
  keys: string[];
}

// Every dtype the format defines that both readers know (csrc/core/safetensors_header.cpp has the same table).
const BYTES_PER_ELEMENT: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

// Scratch views for reinterpreting float32 bits without allocating per element.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** float32 -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN with its sign. */
export function float32ToBfloat16Bits(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return ((bits >>> 16) & 0x8000) | 0x7fc0;
  // Adding 0x7fff plus the lowest kept bit rounds ties to even; carries into the exponent give the right result,
  // including overflow of the largest finite values to infinity.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 -> IEEE half bits, round to nearest even, with subnormals, overflow to ±inf and NaN (numpy's algorithm). */
export function float32ToFloat16Bits(value: number): number {
  scratchFloat[0] = value;
  const f = scratchBits[0];
  const sign = (f >>> 16) & 0x8000;
  const exponent = f & 0x7f800000;
  if (exponent >= 0x47800000) {
    if (exponent === 0x7f800000 && (f & 0x007fffff) !== 0) return sign | 0x7e00;
    return sign | 0x7c00; // infinity, or a finite value too large for half
  }
  if (exponent <= 0x38000000) {
    // Half subnormal (or zero): the implicit leading bit becomes explicit and the significand shifts further.
    if (exponent < 0x33000000) return sign;
    const e = exponent >>> 23;
    let significand = (0x00800000 + (f & 0x007fffff)) >>> (113 - e);
    // Round to nearest even; the bits lost by the shift above also count towards "more than half".
    if ((significand & 0x3fff) !== 0x1000 || (f & 0x7ff) !== 0) significand += 0x1000;
    return sign | (significand >>> 13);
  }
  const halfExponent = (exponent - 0x38000000) >>> 13;
  let significand = f & 0x007fffff;
  if ((significand & 0x3fff) !== 0x1000) significand += 0x1000;
  // A carry out of the significand bumps the exponent, which is exactly the right rounding (up to infinity).
  return sign | ((significand >>> 13) + halfExponent);
}

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

function encodeTensor(tensor: TensorToWrite): Buffer {
  const { data, dtype } = tensor;
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN_HOST) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const out = Buffer.allocUnsafe(data.length * 4);
    for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], i * 4);
    return out;
  }
  const convert = dtype === 'BF16' ? float32ToBfloat16Bits : float32ToFloat16Bits;
  if (LITTLE_ENDIAN_HOST) {
    const halves = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) halves[i] = convert(data[i]);
    return Buffer.from(halves.buffer, halves.byteOffset, halves.byteLength);
  }
  const out = Buffer.allocUnsafe(data.length * 2);
  for (let i = 0; i < data.length; i++) out.writeUInt16LE(convert(data[i]), i * 2);
  return out;
}

function validateTensors(tensors: unknown, metadata: unknown): asserts tensors is Record<string, TensorToWrite> {
  expectPlainObject(tensors, 'tensors');
  for (const [name, tensor] of Object.entries(tensors)) {
    const label = `tensors[${JSON.stringify(name)}]`;
    if (name.length === 0 || name === '__metadata__') {
      throw new RangeError(expectationMessage('tensor name other than "" and "__metadata__"', 'tensors', name));
    }
    expectPlainObject(tensor, label);
    expectOneOf(tensor.dtype, `${label}.dtype`, WRITABLE_DTYPES);
    expectArray(tensor.shape, `${label}.shape`);
    tensor.shape.forEach((size, axis) => expectNonNegativeInteger(size, `${label}.shape[${axis}]`));
    if (!(tensor.data instanceof Float32Array)) throw invalidTypeError('Float32Array', `${label}.data`, tensor.data);
    const elements = (tensor.shape as number[]).reduce((product, size) => product * size, 1);
    if (tensor.data.length !== elements) {
      throw new RangeError(
        expectationMessage(
          `Float32Array of ${elements} elements (shape [${tensor.shape}])`,
          `${label}.data`,
          tensor.data
        )
      );
    }
  }
  if (metadata !== undefined) {
    expectPlainObject(metadata, 'metadata');
    for (const [key, value] of Object.entries(metadata)) expectString(value, `metadata[${JSON.stringify(key)}]`);
  }
}

/** Builds the header bytes (length prefix included) and the order in which tensor data follows it. */
function buildHeader(
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> | undefined
): { prefix: Buffer; dataOrder: string[] } {
  const names = Object.keys(tensors).sort();
  // Data is laid out widest dtype first (as the reference writer does) so every tensor stays naturally aligned.
  const dataOrder = [...names].sort(
    (a, b) => BYTES_PER_ELEMENT[tensors[b].dtype] - BYTES_PER_ELEMENT[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0)
  );
  const offsets = new Map<string, [number, number]>();
  let cursor = 0;
  for (const name of dataOrder) {
    const bytes = tensors[name].data.length * BYTES_PER_ELEMENT[tensors[name].dtype];
    offsets.set(name, [cursor, cursor + bytes]);
    cursor += bytes;
  }
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    header.__metadata__ = Object.fromEntries(
      Object.keys(metadata)
        .sort()
        .map((key) => [key, metadata[key]])
    );
  }
  for (const name of names) {
    header[name] = { dtype: tensors[name].dtype, shape: tensors[name].shape, data_offsets: offsets.get(name) };
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padding = (8 - (json.length % 8)) % 8;
  if (padding) json = Buffer.concat([json, Buffer.alloc(padding, 0x20)]);
  const prefix = Buffer.alloc(8 + json.length);
  prefix.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(prefix, 8);
  return { prefix, dataOrder };
}

/**
 * Writes a .safetensors file. The file appears atomically: data goes to a temporary file in the same directory
 * which is renamed over `file` only once complete, so readers never see a half-written file.
 */
export async function writeSafetensors(
  file: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>
): Promise<void> {
  expectNonEmptyString(file, 'file');
  validateTensors(tensors, metadata);
  const target = path.resolve(file);
  const { prefix, dataOrder } = buildHeader(tensors, metadata);
  const temporary = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`
  );
  const handle = await fs.promises.open(temporary, 'w');
  try {
    await handle.write(prefix);
    // One tensor at a time keeps peak memory at the largest tensor rather than the whole file.
    for (const name of dataOrder) await handle.write(encodeTensor(tensors[name]));
    await handle.sync();
    await handle.close();
    await fs.promises.rename(temporary, target);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.promises.rm(temporary, { force: true });
    throw err;
  }
}

/** The reference implementation's limit: a corrupt length prefix is refused before anything is allocated. */
export const MAX_HEADER_BYTES = 100 << 20;

/**
 * Reads and checks the header of a .safetensors file without touching the tensor data: a regular file (a named pipe
 * would block the read forever), a JSON object of entries with known dtypes, non-negative integer dimensions and data
 * offsets that match dtype x shape inside the data section. The same rules as the core's reader
 * (csrc/core/safetensors_header.cpp).
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  expectNonEmptyString(file, 'file');
  const { handle, size } = await openRegularFile(file, 'a safetensors weights file');
  try {
    const fail = (reason: string): never => {
      throw new Error(`${file}: not a valid safetensors file (${reason})`);
    };
    if (size < 8) fail(`file is ${size} bytes, shorter than the 8-byte header length`);
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const length = lengthBytes.readBigUInt64LE(0);
    if (length === 0n || length > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
      fail(`header length ${length} does not fit a file of ${size} bytes`);
    }
    const headerLength = Number(length);
    const headerBytes = Buffer.alloc(headerLength);
    const { bytesRead } = await handle.read(headerBytes, 0, headerLength, 8);
    if (bytesRead !== headerLength) fail(`file ended inside the header (truncated?)`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
    } catch (err) {
      fail(`header is not UTF-8 JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('header is not a JSON object');
    const entries = parsed as Record<string, unknown>;
    const dataSize = size - 8 - headerLength;
    const tensors: Record<string, SafetensorsTensorInfo> = {};
    const keys: string[] = [];
    let metadata: Record<string, string> | undefined;
    for (const [name, entry] of Object.entries(entries)) {
      if (name === '__metadata__') {
        metadata = entry as Record<string, string>;
        continue;
      }
      const info = entry as SafetensorsTensorInfo;
      const width =
        typeof info?.dtype === 'string' && Object.hasOwn(BYTES_PER_ELEMENT, info.dtype)
          ? BYTES_PER_ELEMENT[info.dtype]
          : 0;
      if (!width) fail(`tensor ${JSON.stringify(name)} has no known dtype`);
      const integers = (xs: unknown): xs is number[] =>
        Array.isArray(xs) && xs.every((x) => Number.isSafeInteger(x) && x >= 0);
      if (!integers(info.shape)) fail(`tensor ${JSON.stringify(name)}: shape is not a list of non-negative integers`);
      if (!integers(info.data_offsets) || info.data_offsets.length !== 2) {
        fail(`tensor ${JSON.stringify(name)}: data_offsets is not two non-negative integers`);
      }
      const [begin, end] = info.data_offsets;
      // BigInt: a shape product past 2^53 must not round into agreement with the offsets.
      const bytes = info.shape.reduce((product, n) => product * BigInt(n), BigInt(width));
      if (end < begin) fail(`data_offsets of ${name} run backwards`);
      // A file cut short (an interrupted download or copy) shows here first: say so rather than blame the header.
      if (end > dataSize) fail(`truncated: the data ends at byte ${dataSize} but ${name} needs bytes up to ${end}`);
      if (BigInt(end - begin) !== bytes) fail(`data_offsets of ${name} do not match its shape and dtype`);
      tensors[name] = info;
      keys.push(name);
    }
    return { headerLength, dataOffset: 8 + headerLength, metadata, tensors, keys };
  } finally {
    await handle.close();
  }
}
