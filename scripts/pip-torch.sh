#!/usr/bin/env bash
# The addon against pip torch, the libtorch most users have (run by .ci/run):
#
#   bash scripts/pip-torch.sh cpu     the prebuilt torch-2.13-cxx11abi1 addon from the torch 2.13 CPU wheel (the
#                                     torch-cpu peer), copied to prebuilds/ for the tarball; then what exercises
#                                     libtorch against it: the C++ core test and the native and numerics tests
#   bash scripts/pip-torch.sh shell cpu -- CMD   CMD in that copy, with the peer first on PATH (the referees)
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

usage() { die "usage: pip-torch.sh cpu | shell cpu -- CMD"; }
cmd=${1:-}
case "$cmd" in
  cpu) variant=$cmd ;;
  shell) variant=${2:-}; [ "${3:-}" = "--" ] && [ $# -gt 3 ] || usage; shift 3 ;;
  *) usage ;;
esac
case "$variant" in
  cpu) PEER=torch-cpu ;;
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
run 'npm run build:ts >/dev/null && node scripts/find-libtorch.js && bash scripts/prebuild.sh torch-2.13-cxx11abi1'
echo "pip-torch: built in $((SECONDS - t0)) s"
rm -rf prebuilds/torch-2.13-cxx11abi1
mkdir -p prebuilds
cp -a "$SRC/prebuilds/torch-2.13-cxx11abi1" prebuilds/
run 'npm run test:core && npm run test:native'
