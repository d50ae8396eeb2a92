#!/usr/bin/env bash
# Sets up qwen3-native from a fresh clone: system packages (Debian/Ubuntu), npm dependencies, the native addon and
# the TypeScript build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  # libopenblas0-openmp: without it Debian's libtorch falls back to reference BLAS (measured 13x slower fp32 matmul).
  # python3-numpy runs the float64 reference (scripts/reference) that the tests check trained adapters against.
  # python3-torch (Debian's, on the same libtorch) runs the PyTorch eager baselines of `npm run bench`.
  # libgloo-dev: the headers of Gloo, which libtorch's c10d ProcessGroupGloo.hpp includes (data-parallel training,
  # csrc/core/distributed.cpp); its symbols are in libtorch_cpu already. Without it the addon builds without
  # distributed training.
  PKGS="libtorch-dev libopenblas0-openmp libgloo-dev cmake g++ make python3 python3-numpy python3-torch"
  missing=""
  for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "qwen3-native setup: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
elif [ -z "${LIBTORCH:-}" ]; then
  echo "qwen3-native setup: not a Debian/Ubuntu system; set LIBTORCH to an unpacked libtorch (or install Python torch) first." >&2
fi

# Node.js 20.19 or newer: string-width (the CLI's tables) is an ES module, which require() loads from 20.19 on.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
  echo "qwen3-native setup: Node.js 20.19 or newer is needed; this is $(node -v). Install a newer Node.js 20 or 22 (https://nodejs.org, or NodeSource's packages), then run this again." >&2
  exit 1
}
npm ci --no-audit --no-fund
# The addon, built from source against the libtorch above (minutes; skipped when an up-to-date build exists).
node scripts/build-native.js --if-stale
npm run build:ts
node -e "const r=require('./dist').runtimeInfo(); console.log('qwen3-native ready: libtorch', r.libtorchVersion, '| CUDA', r.cudaAvailable, '| threads', r.threads, '| fast bf16 CPU', r.cpuBf16)"
