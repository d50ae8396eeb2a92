"""Read and write safetensors files with numpy only.

Format (https://github.com/huggingface/safetensors):
  8 bytes   little-endian u64 N = header length
  N bytes   UTF-8 JSON: {"__metadata__": {str: str}?, name: {"dtype", "shape", "data_offsets": [begin, end]}}
            (offsets relative to the end of the header; the header is padded with spaces to a multiple of 8)
  rest      raw little-endian tensor bytes

Supported dtypes: F64, F32, F16, BF16, I64 (plus I32/I16/I8/U8/BOOL on read).
BF16 is the upper 16 bits of an IEEE float32; reading upcasts exactly to float32, writing rounds float32 to
nearest-even (NaN stays NaN).
"""
import json
import os
import struct

import numpy as np

# dtype name -> (numpy storage dtype, bytes per element)
_NP = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # raw bits; converted on read/write
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

_FROM_NP = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
}


# ----------------------------------------------------------------------------------------------- bf16 helpers
def bf16_bits_to_f32(bits):
    """uint16 bf16 bit patterns -> float32 (exact)."""
    bits = np.asarray(bits, dtype=np.uint16)
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def f32_to_bf16_bits(x):
    """float32 -> uint16 bf16 bit patterns, round-to-nearest-even; NaN -> quiet NaN keeping the sign."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    u = x.view(np.uint32).astype(np.uint64)
    rounded = (u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    out = (rounded & np.uint64(0xFFFF)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        out[nan] = ((u[nan] >> np.uint64(16)).astype(np.uint16) | np.uint16(0x0040))
    return out


def round_to_bf16(x):
    """Round any float array to the nearest bf16 value, returned as float32."""
    return bf16_bits_to_f32(f32_to_bf16_bits(np.asarray(x, dtype=np.float32)))


# ----------------------------------------------------------------------------------------------------- reading
def read_header(path):
    """Return (header dict without __metadata__, metadata dict or None, data start offset)."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        size = os.fstat(f.fileno()).st_size
        if n > size - 8:
            raise ValueError(f"{path}: header length {n} exceeds file size {size}")
        header = json.loads(f.read(n).decode("utf-8"))
    meta = header.pop("__metadata__", None)
    return header, meta, 8 + n


def read_safetensors(path, names=None, raw_bf16=False):
    """Read tensors from one .safetensors file.

    Returns (tensors, metadata, dtypes): tensors maps name -> numpy array (BF16 upcast exactly to float32 unless
    raw_bf16, in which case the uint16 bit patterns), dtypes maps name -> safetensors dtype string.
    """
    header, meta, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(0, 2)
        data_len = f.tell() - start
        out, dtypes = {}, {}
        for name, info in header.items():
            if names is not None and name not in names:
                continue
            dt = info["dtype"]
            if dt not in _NP:
                raise ValueError(f"{path}: {name}: unsupported dtype {dt}")
            npdt = _NP[dt]
            shape = tuple(int(s) for s in info["shape"])
            b, e = (int(v) for v in info["data_offsets"])
            count = int(np.prod(shape, dtype=np.int64))
            if not (0 <= b <= e <= data_len) or e - b != count * npdt.itemsize:
                raise ValueError(f"{path}: {name}: bad data_offsets {b},{e} for {dt}{list(shape)}")
            f.seek(start + b)
            arr = np.frombuffer(f.read(e - b), dtype=npdt).reshape(shape).copy()
            if dt == "BF16" and not raw_bf16:
                arr = bf16_bits_to_f32(arr)
            out[name] = arr.astype(arr.dtype.newbyteorder("="))
            dtypes[name] = dt
    return out, meta, dtypes


def read_checkpoint(model_dir):
    """Read every tensor of an HF checkpoint directory: model.safetensors, or shards listed by
    model.safetensors.index.json (weight_map: tensor name -> shard file). Returns (tensors, dtypes)."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(single):
        tensors, _, dtypes = read_safetensors(single)
        return tensors, dtypes
    if not os.path.exists(index):
        raise FileNotFoundError(f"{model_dir}: neither model.safetensors nor model.safetensors.index.json")
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    by_shard = {}
    for name, shard in weight_map.items():
        by_shard.setdefault(shard, set()).add(name)
    tensors, dtypes = {}, {}
    for shard in sorted(by_shard):
        t, _, d = read_safetensors(os.path.join(model_dir, shard), names=by_shard[shard])
        missing = by_shard[shard] - set(t)
        if missing:
            raise ValueError(f"{shard}: index lists tensors not in the shard: {sorted(missing)}")
        tensors.update(t)
        dtypes.update(d)
    return tensors, dtypes


# ----------------------------------------------------------------------------------------------------- writing
def _encode(arr, dtype):
    """numpy array + target safetensors dtype -> little-endian bytes."""
    if dtype == "BF16":
        return f32_to_bf16_bits(arr).astype("<u2").tobytes()
    if dtype not in _NP:
        raise ValueError(f"unsupported dtype {dtype}")
    return np.ascontiguousarray(np.asarray(arr).astype(_NP[dtype])).tobytes()


def serialize(tensors, metadata=None):
    """tensors: name -> array, or name -> (array, dtype string). Returns the file bytes.

    Data are laid out by element size (largest first, as the Rust library does, so every tensor stays aligned)
    then by name; the header lists __metadata__ first, then tensors in that order."""
    items = []
    for name in tensors:
        v = tensors[name]
        if isinstance(v, tuple):
            arr, dt = v
        else:
            arr = np.asarray(v)
            dt = _FROM_NP.get(arr.dtype)
            if dt is None:
                raise ValueError(f"{name}: give an explicit dtype for numpy dtype {arr.dtype}")
        arr = np.asarray(arr)
        items.append((name, arr, dt))
    items.sort(key=lambda t: (-_NP[t[2]].itemsize, t[0]))
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, off = [], 0
    for name, arr, dt in items:
        b = _encode(arr, dt)
        header[name] = {"dtype": dt, "shape": [int(s) for s in arr.shape], "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(chunks)


def write_safetensors(path, tensors, metadata=None):
    data = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def tensor_nbytes(arr, dtype):
    return int(np.prod(np.shape(arr), dtype=np.int64)) * _NP[dtype].itemsize


def write_sharded(model_dir, ordered, dtype, max_shard_bytes, metadata=None):
    """Write an HF sharded checkpoint: model-0000i-of-0000n.safetensors plus model.safetensors.index.json
    ({"metadata": {"total_size": bytes}, "weight_map": {name: shard}}, json indent 2, sorted keys, as
    transformers' save_pretrained writes it). `ordered` is a list of (name, array) in state-dict order; like
    save_pretrained, a new shard starts when the next tensor would push the current one past max_shard_bytes, so
    one layer may span two shards, as in real checkpoints. Returns the weight_map."""
    shards, cur = [[]], 0
    total = 0
    for name, arr in ordered:
        sz = tensor_nbytes(arr, dtype)
        if shards[-1] and cur + sz > max_shard_bytes:
            shards.append([])
            cur = 0
        shards[-1].append((name, arr))
        cur += sz
        total += sz
    n = len(shards)
    weight_map = {}
    for i, items in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{n:05d}.safetensors"
        write_safetensors(os.path.join(model_dir, fname), {k: (a, dtype) for k, a in items}, metadata)
        for k, _ in items:
            weight_map[k] = fname
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(model_dir, "model.safetensors.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return weight_map
