#!/usr/bin/env bash
# The addon against pip torch, the libtorch most users have (run by .ci/run):
#
#   bash scripts/pip-torch.sh cpu     the prebuilt torch-2.13-cxx11abi1 addon from the torch 2.13 CPU wheel (the
#                                     torch-cpu peer), copied to prebuilds/ for the tarball; then what exercises
#                                     libtorch against it: the C++ core test and the native and numerics tests
#   bash scripts/pip-torch.sh cuda    the addon built from source against the torch 2.14.1 CUDA 13 wheel (the
#                                     torch-cuda peer) with this machine's CUDA toolkit (nvcc on PATH or in
#                                     /usr/local/cuda); it must load, and the numerics tests run on it on the CPU
#                                     (on the GPU too when one is there: the tests use what runtimeInfo finds)
#   bash scripts/pip-torch.sh shell VARIANT -- CMD   CMD in VARIANT's copy, with its peer first on PATH (the benchmark)
#
# Each runs in a copy of this working tree (git's files, this node_modules linked) at build/pip-<variant>/src, with
# the peer's bin/ first on PATH, so that `python3` imports pip's torch and scripts/find-libtorch.js finds it as a
# user's machine would, and no local build of another libtorch (build/Release) is there to win over the addon under
# test. The copy keeps files' times and its CMake tree stays in build/pip-<variant>/tree: a second run compiles only
# what changed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
die() { echo "pip-torch: $*" >&2; exit 1; }

usage() { die "usage: pip-torch.sh cpu | cuda | shell cpu|cuda -- CMD"; }
cmd=${1:-}
case "$cmd" in
  cpu | cuda) variant=$cmd ;;
  shell) variant=${2:-}; [ "${3:-}" = "--" ] && [ $# -gt 3 ] || usage; shift 3 ;;
  *) usage ;;
esac
case "$variant" in
  cpu) PEER=torch-cpu ;;
  cuda) PEER=torch-cuda ;;
  *) usage ;;
esac

VENV=$(bash scripts/peers.sh ensure "$PEER")
WORK=$ROOT/build/pip-$variant
SRC=$WORK/src
mkdir -p "$SRC"
# The copy: git's view of the tree (tracked + untracked-not-ignored), times kept (make compares them), and what is
# gone from the tree goes from the copy (a stale test file would still run).
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ ! -e "$f" ] || cp --parents -a "$f" "$SRC/"
done
(cd "$SRC" && find . \( -path ./node_modules -o -path ./dist -o -path ./prebuilds -o -path ./build \) -prune -o -type f -print0 |
  while IFS= read -r -d '' f; do [ -e "$ROOT/$f" ] || rm -f "$f"; done)
ln -sfn "$ROOT/node_modules" "$SRC/node_modules"
# ../shared beside the copy, as beside the clone (the tests read the posts there).
[ ! -d "$ROOT/../shared" ] || ln -sfn "$(cd "$ROOT/../shared" && pwd)" "$WORK/shared"

run() {
  (cd "$SRC" && env PATH="$VENV/bin:$PATH" QWEN3_NATIVE_BUILD_DIR="$WORK/tree" bash -c "$1")
}
if [ "$cmd" = shell ]; then
  run "$*"
  exit
fi

t0=$SECONDS
if [ "$variant" = cpu ]; then
  run 'npm run build:ts >/dev/null && node scripts/find-libtorch.js && bash scripts/prebuild.sh torch-2.13-cxx11abi1'
  echo "pip-torch: built in $((SECONDS - t0)) s"
  rm -rf prebuilds/torch-2.13-cxx11abi1
  mkdir -p prebuilds
  cp -a "$SRC/prebuilds/torch-2.13-cxx11abi1" prebuilds/
  run 'npm run test:core && npm run test:native'
else
  # The toolkit's own bin/ first: CMake's FindCUDA takes the toolkit's root from nvcc's folder, and a wrapper in
  # /usr/local/bin would make it /usr/local (no include/cuda_runtime.h, no lib64/libcudart there).
  if [ -x /usr/local/cuda/bin/nvcc ]; then PATH=/usr/local/cuda/bin:$PATH; fi
  command -v nvcc >/dev/null 2>&1 || die "no CUDA toolkit (nvcc) on PATH or in /usr/local/cuda"
  run 'npm run build:ts >/dev/null && node scripts/find-libtorch.js && node scripts/build-native.js'
  echo "pip-torch: built in $((SECONDS - t0)) s"
  # Built against the CUDA libtorch, not quietly against its CPU part: the addon links libtorch_cuda and libc10_cuda.
  for lib in libtorch_cuda.so libc10_cuda.so; do
    readelf -d "$SRC/build/Release/qwen3_native.node" | grep -q "NEEDED.*\[$lib\]" || die "the addon does not link $lib"
  done
  run "node dist/cli/main.js info && npx ava test/numerics/model.test.js test/numerics/lora.test.js"
fi
