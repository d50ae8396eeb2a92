#!/usr/bin/env bash
# Proves the packed tarball installs and runs on machines without a compiler (run by .ci/run), each a clean
# debootstrapped root (scripts/debian-root.sh, cached under /var/tmp) running scripts/install-smoke.sh:
#   - Debian 12 with only the runtime: libtorch1.13 libopenblas0-openmp (no -dev package, no compiler)
#   - Debian 13 with only the runtime: the build root with its -dev packages and compilers purged and what they alone
#     pulled in auto-removed (in the run's throw-away overlay), leaving libtorch2.6 libopenblas0-openmp and Node
#   - Debian 12 with no libtorch at all: one clear message, exit 1, no stack trace
#   - Debian 12 whose only libtorch is pip's torch 2.13 CPU wheel (the torch-cpu peer of scripts/peers.sh, made with
#     Debian 12's python3.11 and copied in, first on PATH): the prebuilt torch-2.13-cxx11abi1 addon must be the one
#     that trains and predicts
#
#   bash scripts/check-install.sh TARBALL     (as root; TARBALL from scripts/check-package.sh, which packs the
#                                              torch-2.13 addon that scripts/pip-torch.sh cpu built)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: check-install.sh qwen3-native-<version>.tgz" >&2; exit 2; }
TGZ=$(readlink -f "$1")
NAME=$(basename "$TGZ")
ROOTS=scripts/debian-root.sh
# No -dev package and no build tool may be installed in a runtime root: the check would prove nothing.
NO_BUILD_TOOLS='! dpkg-query -W -f "\${Package} \${Status}\n" libtorch-dev g++ gcc cmake make 2>/dev/null | grep -q "install ok installed"'

timed() {
  local label=$1 t0=$SECONDS
  shift
  "$@"
  echo "check-install: $label: $((SECONDS - t0)) s"
}

timed "bookworm-runtime root" bash $ROOTS ensure bookworm-runtime >/dev/null
timed "trixie root" bash $ROOTS ensure trixie >/dev/null

timed "Debian 12 + libtorch1.13 runtime" bash $ROOTS run bookworm-runtime --put "$TGZ" --put scripts/install-smoke.sh -- \
  "$NO_BUILD_TOOLS && bash install-smoke.sh $NAME"
# Debian 13's runtime, from the build root: what a machine with only `apt-get install libtorch2.6 nodejs npm` has.
RUNTIME_ONLY='apt-mark manual libtorch2.6 libopenblas0-openmp nodejs npm ca-certificates >/dev/null &&
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq libtorch-dev libgloo-dev cmake g++ gcc make git python3-numpy >/dev/null 2>&1 &&
  DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null 2>&1'
timed "Debian 13 + libtorch2.6 runtime" bash $ROOTS run trixie --put "$TGZ" --put scripts/install-smoke.sh -- \
  "$RUNTIME_ONLY && $NO_BUILD_TOOLS && bash install-smoke.sh $NAME"
# The same Debian 12 root with libtorch removed (in the run's throw-away overlay; the cached root keeps it).
timed "Debian 12 without libtorch" bash $ROOTS run bookworm-runtime --put "$TGZ" --put scripts/install-smoke.sh -- \
  "dpkg --purge --force-depends libtorch1.13 >/dev/null 2>&1 && ! ls /usr/lib/*/libtorch* /usr/lib/*/libc10* 2>/dev/null && bash install-smoke.sh $NAME --no-libtorch"
# pip torch alone: the same root with libtorch1.13 removed and the torch 2.13 CPU wheel's environment brought in.
TORCH_CPU=$(bash scripts/peers.sh ensure torch-cpu)
timed "pip torch 2.13 (CPU wheel) only" bash $ROOTS run bookworm-runtime --put "$TGZ" --put scripts/install-smoke.sh \
  --put "$TORCH_CPU" -- "dpkg --purge --force-depends libtorch1.13 >/dev/null 2>&1 && ! ls /usr/lib/*/libtorch* 2>/dev/null &&
  $NO_BUILD_TOOLS && PATH=/work/$(basename "$TORCH_CPU")/bin:\$PATH bash install-smoke.sh $NAME --variant torch-2.13-cxx11abi1"
# A libtorch of another version under the names the addon wants (Debian 13's 2.6 libraries as libc10.so.1.13 & co.,
# LIBTORCH saying 1.13): the 1.13 addon must fail to load with the missing symbol named, as an Error, not crash
# the process at its first call (Node's default lazy binding would).
timed "another libtorch version: an Error at load" bash $ROOTS run trixie --put "$TGZ" -- "
  set -e; mkdir app && cd app && echo '{\"private\":true}' >package.json && npm install --no-audit --no-fund --loglevel=error ../$NAME
  mkdir -p /opt/fake/lib && echo 1.13.0 >/opt/fake/build-version
  for b in libc10 libtorch_cpu libtorch; do ln -s /usr/lib/x86_64-linux-gnu/\$b.so.2.6 /opt/fake/lib/\$b.so.1.13; done
  LIBTORCH=/opt/fake LD_LIBRARY_PATH=/opt/fake/lib node -e '
    try { require(\"qwen3-native\").runtimeInfo(); console.error(\"loaded: the check proves nothing\"); process.exit(2); }
    catch (e) { console.log(e.message); process.exit(/torch-1.13-cxx11abi1-debian.*does not load.*undefined symbol/s.test(e.message) ? 0 : 3); }'"
echo "check-install: ok"
