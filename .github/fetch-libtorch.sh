#!/usr/bin/env bash
# Downloads and unpacks pytorch.org's libtorch zip (shared libraries with their dependencies, C++11 ABI).
#   bash .github/fetch-libtorch.sh VERSION FLAVOUR DEST      e.g. 2.8.0 cpu /opt/libtorch   (FLAVOUR: cpu, cu126, ...)
# pytorch.org named the C++11-ABI zips libtorch-cxx11-abi-shared-with-deps-* while it also built the old ABI, and
# libtorch-shared-with-deps-* once it built only the C++11 ABI: both names are tried.
set -euo pipefail
V=$1 FLAVOUR=$2 DEST=$3
zip=/tmp/libtorch-$V-$FLAVOUR.zip
ok=""
for name in "libtorch-cxx11-abi-shared-with-deps-$V%2B$FLAVOUR.zip" "libtorch-shared-with-deps-$V%2B$FLAVOUR.zip"; do
  if curl -fsSL --retry 3 -o "$zip" "https://download.pytorch.org/libtorch/$FLAVOUR/$name"; then ok=$name; break; fi
done
[ -n "$ok" ] || { echo "fetch-libtorch: no libtorch $V ($FLAVOUR) zip found" >&2; exit 1; }
rm -rf "$DEST" /tmp/libtorch-unpack && mkdir -p /tmp/libtorch-unpack
if command -v unzip >/dev/null 2>&1; then unzip -q "$zip" -d /tmp/libtorch-unpack; else python3 -m zipfile -e "$zip" /tmp/libtorch-unpack; fi
mv /tmp/libtorch-unpack/libtorch "$DEST"
rm -f "$zip"
echo "fetch-libtorch: $ok -> $DEST ($(cat "$DEST/build-version" 2>/dev/null || echo 'no build-version'))"
