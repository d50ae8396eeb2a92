"""Matmul roofline: GFLOPS of torch.nn.functional.linear (x @ W^T, the layout every Qwen3 projection uses) in
float32 and bfloat16 on this machine, for the model's own shapes and a large square product.

job: {device, dtypes: [...], shapes: [[M, K, N], ...], min_seconds}
"""

import torch

from bench_util import start_job, device_of, dtype_of, log, now, sync, write_json


def gflops(m, k, n, dtype, device, min_seconds):
    x = torch.randn(m, k, device=device).to(dtype)
    w = torch.randn(n, k, device=device).to(dtype)
    with torch.inference_mode():
        torch.nn.functional.linear(x, w)  # warm-up (library initialisation, primitive creation)
        sync(device)
        reps, t = 0, now()
        while True:
            torch.nn.functional.linear(x, w)
            reps += 1
            sync(device)
            if now() - t >= min_seconds and reps >= 2:
                break
        dt = (now() - t) / reps
    return 2.0 * m * k * n / dt / 1e9


def main():
    job, out, threads = start_job()
    device = device_of(job.get("device", "cpu"))
    rows = []
    for dt in job["dtypes"]:
        for m, k, n in job["shapes"]:
            g = gflops(m, k, n, dtype_of(dt), device, job.get("min_seconds", 1.0))
            log(f"roofline {dt} [{m}x{k}] x [{k}x{n}]: {g:.1f} GFLOPS")
            rows.append({"dtype": dt, "m": m, "k": k, "n": n, "gflops": g})
    write_json(out, {"rows": rows, "threads": threads, "torch": torch.__version__})


if __name__ == "__main__":
    main()
