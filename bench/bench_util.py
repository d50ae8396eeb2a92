"""Helpers shared by the Python side of the benchmark: safetensors read/write with torch (streaming, so a 0.6B
checkpoint never needs two copies in memory), thread setup, JSON in/out, timing.

Format (as scripts/reference/safetensors_np.py documents it): u64 header length, JSON header (padded with spaces to
a multiple of 8), raw little-endian tensor bytes.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch

_DT = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "I64": torch.int64, "I32": torch.int32}
_NAME = {v: k for k, v in _DT.items()}
_NP_RAW = {"F32": np.float32, "BF16": np.int16, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def setup_threads(threads=None):
    """Intra-op threads = cores (Debian's torch starts at 1), as the native core does."""
    n = int(threads or os.environ.get("BENCH_THREADS") or os.cpu_count() or 1)
    torch.set_num_threads(n)
    return n


def device_of(name):
    return torch.device("cuda" if name == "cuda" else "cpu")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def now():
    return time.perf_counter()


def log(*args):
    print("  [py]", *args, flush=True)


def memory_status():
    """Peak (VmHWM) and current (VmRSS) resident memory of this process, bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                out["vmHWM" if line.startswith("VmHWM") else "vmRSS"] = int(line.split()[1]) * 1024
    return out


def start_job():
    """Entry of every Python case: `--job <json> --out <json>`; applies the job's threads and seed.
    Returns (job, out_path, threads)."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--job", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    job = read_json(a.job)
    threads = setup_threads(job.get("threads"))
    torch.manual_seed(job.get("seed", 0))
    return job, a.out, threads


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def dtype_of(name):
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


# ------------------------------------------------------------------------------------------------- safetensors
def write_safetensors_stream(path, items, metadata=None):
    """items: list of (name, shape, dtype 'F32'|'BF16', producer) where producer() returns the tensor.
    The header is written first from the shapes, then each tensor is produced, written and dropped."""
    itemsize = {"F32": 4, "BF16": 2, "F16": 2}
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    for name, shape, dt, _ in items:
        n = int(np.prod(shape, dtype=np.int64)) * itemsize[dt]
        header[name] = {"dtype": dt, "shape": [int(s) for s in shape], "data_offsets": [off, off + n]}
        off += n
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for name, shape, dt, produce in items:
            t = produce().to(_DT[dt]).contiguous()
            if list(t.shape) != list(shape):
                raise ValueError(f"{name}: produced {list(t.shape)}, header says {list(shape)}")
            raw = t.view(torch.int16) if dt == "BF16" else t
            f.write(raw.numpy().tobytes())
            del t, raw
    os.replace(tmp, path)


def read_safetensors(path, dtype=None, device="cpu", names=None):
    """name -> torch tensor (converted to dtype when given). Reads through a memory map."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    header.pop("__metadata__", None)
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if names is not None and name not in names:
            continue
        b, e = info["data_offsets"]
        raw = np.frombuffer(mm[b:e], dtype=_NP_RAW[info["dtype"]]).reshape(info["shape"])
        t = torch.from_numpy(raw.copy())
        if info["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[name] = t.to(device)
    return out


def load_checkpoint(model_dir, dtype, device="cpu"):
    """All tensors of model_dir (model.safetensors or shards), keys normalised to the Qwen3ForCausalLM form."""
    files = []
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(read_json(index)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    w = {}
    for fname in files:
        for k, v in read_safetensors(os.path.join(model_dir, fname), dtype, device).items():
            if k.startswith(("embed_tokens.", "layers.", "norm.")):
                k = "model." + k
            w[k] = v
    return w


if __name__ == "__main__":
    sys.exit("helper module: import it")
