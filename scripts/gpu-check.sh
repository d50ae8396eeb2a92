#!/usr/bin/env bash
# The GPU check: one command that, on a CUDA machine with no network, builds the addon against Python
# torch's libtorch with CUDA, runs the numerics on the GPU (float32 against the float64 goldens at the CPU's
# tolerances, bf16/fp16 within stated ones, LoRA/lora-head/full loss and gradients against the CPU, predictions that
# agree with the CPU's), loads runs trained on the CPU with transformers + PEFT and compares, and benchmarks ours
# against transformers + PEFT at Qwen3-0.6B shape on the same GPU. Every step is time-boxed (`timeout`), so the whole
# run ends inside 9 minutes even when a step fails. It writes gpu.md, gpu.json (all raw numbers), log.txt and
# build.log to $OUT (or --out DIR), and prints a one-line verdict last.
#
#   bash scripts/gpu-check.sh              the GPU run (device cuda, Qwen3-0.6B shape)
#   bash scripts/gpu-check.sh --dry-run    the same steps on the CPU with a tiny model (CI runs it): the addon is not
#                                          rebuilt (only CMake's configure step runs), the Hugging Face side is
#                                          skipped where transformers/peft are not installed (Debian has neither)
#   options: --out DIR, --only step[,step] (node,python,build,numerics,interop,hf-interop,bench), --skip-build,
#            --budget SECONDS (default 530)
#
# On a GPU machine with no Node and no network, Node, dist/ and the node_modules the run needs come in .gpu/, which
# `bash scripts/gpu-pack.sh` prepares (gitignored; it prints the size): copy the working tree with .gpu/ there and run
# `bash scripts/gpu-check.sh` (about 10 minutes at most). gpu.md is the report; the verdict is the output's last line.
# Saved as bench/RESULTS-gpu.md, gpu.md becomes bench/RESULTS.md's GPU section (bench/report.js carries it into every
# later RESULTS.md). A rerun on the still-warm machine can skip what passed: --only numerics,bench --skip-build.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

DRY=0
OUTDIR="${OUT:-}"
ONLY=""
SKIP_BUILD=0
BUDGET=530
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --out) OUTDIR="$2"; shift ;;
    --only) ONLY=",$2," ; shift ;;
    --skip-build) SKIP_BUILD=1 ;;
    --budget) BUDGET="$2"; shift ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$OUTDIR" ]] || OUTDIR="$ROOT/gpu-out"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
RES="$(mktemp -d "${TMPDIR:-/tmp}/q3n-gpu-check.XXXXXX")"
LOG="$OUTDIR/log.txt"
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1
START=$(date +%s)
STEPS=()

if [[ $DRY == 1 ]]; then DEVICE=cpu; SHAPE=tiny; QUICK=--quick; else DEVICE=cuda; SHAPE=0.6B; QUICK=; fi
export ROOT DRY OUTDIR RES SKIP_BUILD
echo "gpu-check: $([[ $DRY == 1 ]] && echo 'dry run on the CPU' || echo 'CUDA run'), results in $OUTDIR, scratch $RES, budget ${BUDGET}s"

# node and python set up the rest: they always run.
wanted() { [[ -z "$ONLY" || "$ONLY" == *",$1,"* || $1 == node || $1 == python ]]; }
elapsed() { echo $(($(date +%s) - START)); }
record() { STEPS+=("{\"name\":\"$1\",\"status\":\"$2\",\"seconds\":$3,\"limit\":$4}"); }

# step NAME LIMIT_SECONDS COMMAND...: runs COMMAND under `timeout` with the smaller of LIMIT and what is left of the
# budget (15 s kept for the report); records ok, failed (exit N), timeout or skipped.
step() {
  local name="$1" limit="$2"
  shift 2
  if ! wanted "$name"; then record "$name" skipped 0 0; return 0; fi
  local left=$((BUDGET - $(elapsed) - 15))
  ((limit > left)) && limit=$left
  if ((limit < 5)); then
    echo "== $name: no time left in the ${BUDGET}s budget"
    record "$name" "no time left" 0 0
    return 1
  fi
  echo "== $name (limit ${limit}s, at $(elapsed)s)"
  local t0=$(date +%s) rc
  if declare -F "$1" > /dev/null; then
    # A function of this script: `timeout` runs programs, so a bash that has the functions (variables are exported).
    timeout -k 5 "$limit" bash -c "$(declare -f); $(printf '%q ' "$@")"
  else
    timeout -k 5 "$limit" "$@"
  fi
  rc=$?
  local dt=$(($(date +%s) - t0)) status=ok
  if ((rc == 124 || rc == 137)); then status=timeout; elif ((rc != 0)); then status="failed (exit $rc)"; fi
  echo "== $name: $status in ${dt}s"
  record "$name" "$status" "$dt" "$limit"
  [[ $status == ok ]]
}

# --------------------------------------------------------------------------------------------------------- node
# Node 20+: the machine's own, or the one gpu-pack.sh put in .gpu/ (unpacked with xz, or Python's lzma without it).
ensure_node() {
  if command -v node > /dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    return 0
  fi
  [[ -f .gpu/node.xz ]] || { echo "no Node 20+ here and no .gpu/node.xz: run scripts/gpu-pack.sh and copy .gpu here"; return 1; }
  mkdir -p /tmp/q3n-node/bin
  if command -v xz > /dev/null; then
    xz -dc .gpu/node.xz > /tmp/q3n-node/bin/node
  else
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' .gpu/node.xz /tmp/q3n-node/bin/node
  fi
  chmod +x /tmp/q3n-node/bin/node
}
# dist/ and the node_modules the run needs, from .gpu/payload.tar.xz where the tree has none (a GPU machine without Node).
ensure_payload() {
  if [[ -f dist/index.js && -d node_modules/@huggingface/tokenizers && -d node_modules/@sinclair/typebox ]]; then return 0; fi
  [[ -f .gpu/payload.tar.xz ]] || { echo "no dist/ or node_modules here and no .gpu/payload.tar.xz: run scripts/gpu-pack.sh"; return 1; }
  if command -v xz > /dev/null; then
    tar -xJf .gpu/payload.tar.xz
  else
    python3 -c 'import tarfile,sys; tarfile.open(sys.argv[1]).extractall(".")' .gpu/payload.tar.xz
  fi
}
node_step() { ensure_node && ensure_payload; }
step node 60 node_step
[[ -x /tmp/q3n-node/bin/node ]] && export PATH="/tmp/q3n-node/bin:$PATH"

# ------------------------------------------------------------------------------------------------------- python
# The first Python with torch: $QWEN3_GPU_PYTHON, python3 (a GPU machine's, with torch, transformers and peft),
# Debian's /usr/bin/python3 (python3-torch, for the dry run).
PY=""
for p in "${QWEN3_GPU_PYTHON:-}" python3 /usr/bin/python3 /opt/torch/.venv/bin/python3; do
  [[ -n "$p" ]] && command -v "$p" > /dev/null && "$p" -c 'import torch' 2> /dev/null && { PY="$(command -v "$p")"; break; }
done
echo "python with torch: ${PY:-none}"
export PY
# find-libtorch.js asks `python3` on PATH for torch's libtorch: make it this one.
[[ -n "$PY" ]] && export PATH="$(dirname "$PY"):$PATH"
env_json() {
  "${PY:-python3}" - "$RES/env.json" "$DRY" << 'EOF'
import json, os, platform, shutil, subprocess, sys
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""
env = {"dryRun": sys.argv[2] == "1", "python": f"{platform.python_version()} ({sys.executable})",
       "cores": str(os.cpu_count()), "OS": " ".join(platform.uname()[0:3:2]),
       "node": run("node", "--version"), "cmake": run("cmake", "--version").split("\n")[0],
       "ninja": run("ninja", "--version"), "nvcc": run("nvcc", "--version").split("\n")[-1],
       "nvidia-smi": run("nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm", "--format=csv,noheader")}
try:
    import torch
    env["torch"] = f"{torch.__version__} (CUDA {torch.version.cuda}, available {torch.cuda.is_available()})"
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        env["GPU"] = f"{p.name}, {p.total_memory / 2**30:.1f} GiB, {p.multi_processor_count} SMs, capability {p.major}.{p.minor}"
except Exception as e:
    env["torch"] = f"not importable: {e}"
for name in ("transformers", "peft"):
    try:
        env[name] = __import__(name).__version__
    except Exception as e:
        env[name] = f"not installed ({type(e).__name__})"
json.dump({k: v for k, v in env.items() if v != ""}, open(sys.argv[1], "w"), indent=1)
print("\n".join(f"  {k}: {v}" for k, v in env.items()))
EOF
}
step python 30 env_json

# -------------------------------------------------------------------------------------------------------- build
# The addon against Python torch's libtorch (scripts/find-libtorch.js), with CMake and Ninja directly (cmake-js
# stays here: what it adds on Linux is node-api-headers' include folder). A build that fails with the CUDA memory
# counters on is retried without them (runtime.cpp; the only code that includes CUDA headers).
build_addon() {
  local dir="$1" mode="$2"
  local torch_dir napi gen=()
  torch_dir="$(node -e "console.log(require('./scripts/find-libtorch.js').findLibtorch().torchDir)")" || return 1
  napi="$(node -p "require('node-api-headers').include_dir")" || return 1
  command -v ninja > /dev/null && gen=(-G Ninja)
  # CMake's FindCUDAToolkit looks for nvcc on PATH first.
  if ! command -v nvcc > /dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
  echo "libtorch: $torch_dir"
  # What cmake-js passes on Linux: node-api-headers' include folder, BUILDING_NODE_EXTENSION, the output folder.
  local args=(-S . -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$torch_dir" -DCMAKE_JS_INC="$napi"
    -DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$ROOT/build/Release")
  if [[ $mode == configure ]]; then
    # Dry run: the same configure step (Torch found, headers located) without compiling; the tests' addon is used.
    cmake "${args[@]}" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$dir/Release" > "$OUTDIR/build.log" 2>&1 || { tail -30 "$OUTDIR/build.log"; return 1; }
    tail -3 "$OUTDIR/build.log"
    return 0
  fi
  { cmake "${args[@]}" $mode && cmake --build "$dir" --parallel "$(nproc)"; } >> "$OUTDIR/build.log" 2>&1
  local rc=$?
  grep -E "qwen3-native:|error|Error" "$OUTDIR/build.log" | tail -15
  return $rc
}
build_step() {
  : > "$OUTDIR/build.log"
  if [[ $DRY == 1 ]]; then
    build_addon "$RES/build-dry" configure
    return $?
  fi
  if [[ $SKIP_BUILD == 1 && -f build/Release/qwen3_native.node ]]; then echo "kept build/Release/qwen3_native.node"; return 0; fi
  rm -rf build
  build_addon build "" && return 0
  echo "build failed; again without the CUDA memory counters (-DQWEN3_NATIVE_CUDA_MEMORY=OFF)"
  rm -rf build
  build_addon build -DQWEN3_NATIVE_CUDA_MEMORY=OFF
}
step build 270 build_step
timeout 60 node -e "const r=require('./dist').runtimeInfo(); console.log('addon: libtorch', r.libtorchVersion, '| CUDA', r.cudaAvailable, r.cudaDeviceCount, '| threads', r.threads); process.exit(r.cudaAvailable || process.argv[1] === '1' ? 0 : 3)" "$DRY"
ADDON=$?
if [[ $ADDON != 0 && $ADDON != 3 ]]; then echo "the addon does not load (exit $ADDON)"; fi
if [[ $ADDON == 3 ]]; then echo "the addon sees no CUDA device: numerics and benchmark would run on the CPU; stopping them"; fi

# ----------------------------------------------------------------------------------------------------- the checks
DATA="$ROOT/data/weibo_sample.txt"
[[ $DRY == 0 && -f .gpu/data/train.txt ]] && DATA="$ROOT/.gpu/data/train.txt"
if [[ $ADDON == 0 ]]; then
  step numerics 120 node bench/gpu/numerics.js "$DEVICE" "$RES/numerics.json"
  step interop 150 node bench/gpu/interop.js "$DEVICE" "$RES/interop-work" "$RES/interop.json" $QUICK
  step hf-interop 90 "$PY" bench/hf_interop.py --runs "$RES/interop.json" --out "$RES/hf_interop.json" --device "$DEVICE"
  export BENCH_PYTHON="$PY" BENCH_DATA="$DATA" BENCH_WORK="$RES/bench"
  step bench 300 node bench/gpu/bench.js "$DEVICE" "$SHAPE" "$RES/bench.json" $QUICK
else
  record checks "not run: no usable addon" 0 0
fi

# ------------------------------------------------------------------------------------------------------- report
(IFS=,; echo "[${STEPS[*]}]") > "$RES/steps.json"
echo "== report (at $(elapsed)s)"
node bench/gpu/report.js "$RES" "$OUTDIR"
RC=$?
[[ -n "${QWEN3_GPU_KEEP:-}" ]] || rm -rf "$RES"
exit $RC
