#!/usr/bin/env bash
# The Python peers that pip torch users run beside us, each a virtual environment made from pinned wheels
# (scripts/peers/<NAME>.txt lists every package and version, dependencies included, installed with --no-deps), kept
# outside the clone and reused while its pins and its Python match:
#   referees    torch 2.13.0+cpu, transformers 5.17.0, peft 0.21.0, safetensors, sentence-transformers 6.0.1: the
#               referee tests (npm run test:referees)
#   torch-cpu   torch 2.13.0+cpu alone: what a pip user of the prebuilt torch-2.13 addon has (the addon is built and
#               its numerics tested against it: scripts/pip-torch.sh)
#   torch-cuda  torch 2.14.1 with its CUDA 13 wheels: the addon must build and load against it
#
#   bash scripts/peers.sh ensure NAME     make it (or reuse it) and print its folder (bin/python inside)
#   bash scripts/peers.sh path NAME       print its folder, made or not
#
# Where: $QWEN3_PEERS, else ${XDG_CACHE_HOME:-~/.cache}/qwen3-native/peers. The wheels come from pip's configured
# indexes and find-links (torch's +cpu wheels are on https://download.pytorch.org/whl/cpu); pip never retries and
# waits 5 s at most for an index, so an unreachable one costs seconds, not minutes. The Python is Debian 12's
# python3.11 (the wheels are cp311; QWEN3_PEERS_PYTHON picks another). Made from scratch on 2 cores: see
# docs/development.md ("Python peers") for the times and sizes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${QWEN3_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/qwen3-native/peers}

die() { echo "peers: $*" >&2; exit 1; }

find_python() {
  local py=${QWEN3_PEERS_PYTHON:-} c
  if [ -z "$py" ]; then
    for c in /usr/bin/python3.11 python3.11; do
      if command -v "$c" >/dev/null 2>&1; then py=$(command -v "$c"); break; fi
    done
  fi
  [ -n "$py" ] || die "no python3.11 found (the pinned wheels are cp311); set QWEN3_PEERS_PYTHON"
  echo "$py"
}

# Debian's python3 makes virtual environments only with python3-venv (ensurepip).
need_venv_module() {
  local py=$1 sudo=""
  "$py" -c 'import ensurepip, venv' >/dev/null 2>&1 && return
  if command -v apt-get >/dev/null 2>&1 && [ "$py" = /usr/bin/python3.11 ]; then
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "peers: installing python3-venv" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  else
    die "$py cannot make a virtual environment (no ensurepip); install its venv module"
  fi
}

define() {
  NAME=$1
  PINS="$HERE/peers/$NAME.txt"
  [ -f "$PINS" ] || die "unknown environment '$NAME' ($(cd "$HERE/peers" && ls ./*.txt | sed 's|^\./||; s|\.txt$||' | paste -sd ' '))"
}

# The folder's name carries a digest of the pins and the Python's version: a change of either makes a new one.
folder() {
  local py=$1 key
  key=$({ cat "$PINS"; "$py" -c 'import sys; print(sys.version)'; readlink -f "$py"; } | sha256sum | cut -c1-12)
  echo "$CACHE/$NAME-$key"
}

ensure() {
  local py dir t0 old
  py=$(find_python)
  dir=$(folder "$py")
  mkdir -p "$CACHE"
  exec 9>"$CACHE/$NAME.lock"
  flock 9 # one maker at a time; a second caller waits, then finds it made
  if [ -f "$dir/.complete" ]; then echo "$dir"; return; fi
  t0=$SECONDS
  # An unfinished folder (no .complete: a failed or interrupted run) is made again from scratch.
  rm -rf "$dir"
  need_venv_module "$py"
  echo "peers: making $NAME in $dir from $(basename "$PINS")" >&2
  "$py" -m venv "$dir"
  # --no-deps: the file pins the whole closure, so nothing is resolved (or fetched) beyond it; pip check then proves
  # the closure complete.
  # (pip's warnings about configured index folders without the package are left out of its log.)
  local log rc=0
  log=$(mktemp)
  "$dir/bin/python" -m pip install --quiet --no-input --disable-pip-version-check --retries 0 --timeout 5 \
    --no-deps --only-binary=:all: -r "$PINS" >"$log" 2>&1 || rc=$?
  grep -v 'is ignored: it is neither a file nor a directory' "$log" >&2 || true
  rm -f "$log"
  [ $rc = 0 ] || die "pip could not install $(basename "$PINS") (the wheels come from pip's configured indexes: pip config list)"
  # A `# not-installed: a b` line names requirements left out on purpose; pip check may report those, and only those.
  local skip problems
  skip=$(sed -n 's/^# not-installed: *//p' "$PINS" | tr ' ' '|')
  problems=$("$dir/bin/python" -m pip check 2>&1 | grep -v '^No broken requirements' |
    grep -vE "requires (${skip:-^$}), which is not installed" || true)
  [ -z "$problems" ] || die "$(basename "$PINS") is not a complete set of dependencies (pip check):
$problems"
  date -u +%FT%TZ >"$dir/.complete"
  # Environments of the same name made for other pins or Pythons are stale: they go.
  for old in "$CACHE/$NAME"-*; do
    [ "$old" = "$dir" ] || [ ! -d "$old" ] || rm -rf "$old"
  done
  echo "peers: $NAME made in $((SECONDS - t0)) s, $(du -sh "$dir" | cut -f1)" >&2
  echo "$dir"
}

cmd=${1:-}
[ $# -eq 2 ] || die "usage: peers.sh ensure NAME | path NAME"
define "$2"
case "$cmd" in
  ensure) ensure ;;
  path) folder "$(find_python)" ;;
  *) die "unknown command '$cmd' (ensure | path)" ;;
esac
