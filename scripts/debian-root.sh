#!/usr/bin/env bash
# Debian roots (debootstrap from Debian's archive, entered with chroot) for the libtorch variants this host does not
# have: CI runs on Debian 12 (libtorch 1.13) and proves the package against Debian 13's libtorch 2.6 and against
# machines that have only a libtorch runtime and no compiler. Each root is cached under /var/tmp and reused while its
# stamp (suite, package list, Node) matches.
#
#   bash scripts/debian-root.sh ensure NAME            make the root (or reuse a valid one); prints its path
#   bash scripts/debian-root.sh run NAME [opts] -- CMD run CMD (a bash command line) inside the root
#       --tree        copy this working tree (git's view: tracked + untracked-not-ignored files) to /work/main and
#                     ../shared beside it, as CI lays them out; CMD starts in /work/main (else in /work)
#       --put FILE    copy FILE into /work/ first (repeatable)
#       --get PATH    after CMD, copy /work/main/PATH back to PATH in this working tree (repeatable)
#   Every run works in a throw-away overlay over the cached root, so runs never change it and can run side by side.
#
# Roots (NAME):
#   trixie            Debian 13, the build root: libtorch-dev 2.6, nodejs 20 + npm, cmake, g++, python3-numpy (its
#                     runtime-only form is made per run by scripts/check-install.sh, purging the -dev packages and the
#                     compilers in the run's overlay)
#   bookworm-runtime  Debian 12 with only libtorch1.13 libopenblas0-openmp (and python3); Debian 12's nodejs is 18, so the host's
#                     Node 20 and npm are copied in. On a Debian 12 host the packages apt already downloaded
#                     (/var/cache/apt/archives: the set-up's libtorch 1.13) are reused, not downloaded again.
# Made from scratch on a 2-core machine (deb.debian.org): trixie 4.4-6.4 min on a quiet machine (debootstrap 40-59 s +
# apt 225-323 s), 17 min in the background of a loaded one.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${QWEN3_ROOTS:-/var/tmp}

die() { echo "debian-root: $*" >&2; exit 1; }
[ "$(id -u)" = "0" ] || die "needs root (debootstrap, mount, chroot); run it as root or with sudo"

define() {
  NAME=$1
  NODE_FROM_HOST=""
  case "$NAME" in
    trixie)
      SUITE=trixie
      DIR="$CACHE/qwen3-native-trixie"
      # libgloo-dev: the Gloo headers c10d's ProcessGroupGloo includes (data-parallel training, csrc/core/distributed).
      PKGS="libtorch-dev libgloo-dev libopenblas0-openmp nodejs npm cmake g++ make python3 python3-numpy ca-certificates git"
      ;;
    bookworm-runtime)
      SUITE=bookworm
      DIR="$CACHE/qwen3-native-bookworm-runtime"
      # python3: the interpreter a pip torch environment runs on (scripts/check-install.sh brings one in); without
      # torch it changes nothing for libtorch1.13 (the loader finds no Python torch and takes the system's).
      PKGS="libtorch1.13 libopenblas0-openmp ca-certificates python3"
      NODE_FROM_HOST=1
      ;;
    *) die "unknown root '$NAME' (trixie | bookworm-runtime)" ;;
  esac
  STAMP_WANT="$SUITE|$PKGS"
  if [ -n "$NODE_FROM_HOST" ]; then STAMP_WANT="$STAMP_WANT|node $(node -v)"; fi
}

mirror() {
  # The mirror the host already uses (CI machines point at a Debian mirror); deb.debian.org otherwise.
  local uri
  uri=$(grep -hoE '^URIs:\s*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  [ -n "$uri" ] || uri=$(grep -hoE '^deb\s+\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# Mounts for a root at $1: /proc, /sys and /dev (slave copies, so unmounting them never reaches the host's), the
# host's CA bundle (npm reaches the registry over TLS; a fresh root's ca-certificates may lag the host's) and DNS.
MOUNTED=()
mount_into() {
  local r=$1 m
  mkdir -p "$r/proc" "$r/sys" "$r/dev" "$r/etc/ssl/certs"
  mount -t proc proc "$r/proc" && MOUNTED+=("$r/proc")
  for m in sys dev; do
    mount --rbind "/$m" "$r/$m" && mount --make-rslave "$r/$m" && MOUNTED+=("$r/$m")
  done
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
  cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
}
umount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -R "${MOUNTED[$i]}" 2>/dev/null || umount -lR "${MOUNTED[$i]}" 2>/dev/null || true
  done
  MOUNTED=()
}

valid() {
  [ -f "$DIR/.qwen3-native-stamp" ] && [ "$(cat "$DIR/.qwen3-native-stamp")" = "$STAMP_WANT" ] && [ -x "$DIR/usr/bin/env" ]
}

# A clean environment. NODE_EXTRA_CA_CERTS: Debian's node reads the (copied) system bundle, the host's Node copied
# into bookworm-runtime only its built-in list unless told.
in_root() {
  chroot "$1" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt NPM_CONFIG_UPDATE_NOTIFIER=false "${@:2}"
}

ensure() {
  exec 9>"$DIR.lock"
  flock 9 # one builder at a time; a second caller waits and then finds the root valid
  if valid; then echo "$DIR"; return; fi
  command -v debootstrap >/dev/null 2>&1 || {
    echo "debian-root: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  }
  # Built beside the cache and renamed when complete: a failed or interrupted build never leaves a root that looks
  # usable. An invalid (stale) root is replaced.
  local new="$DIR.new" m t0
  rm -rf "$new"
  m=$(mirror)
  t0=$(date +%s)
  echo "debian-root: debootstrap $SUITE from $m into $DIR" >&2
  # Downloaded packages are kept per suite beside the roots: the trixie roots share most of theirs (libtorch2.6 and
  # its dependencies), and a rebuilt root downloads nothing again.
  local debs="$CACHE/qwen3-native-debs-$SUITE"
  mkdir -p "$debs"
  if grep -qs "VERSION_CODENAME=$SUITE\$" /etc/os-release; then
    # The host runs this suite: what its apt already downloaded is the same files (hard links where possible).
    local f
    for f in /var/cache/apt/archives/*.deb; do
      [ -e "$f" ] && [ ! -e "$debs/${f##*/}" ] || continue
      ln "$f" "$debs/" 2>/dev/null || cp "$f" "$debs/"
    done
  fi
  debootstrap --variant=minbase --cache-dir="$debs" "$SUITE" "$new" "$m" >"$DIR.debootstrap.log" 2>&1 ||
    { tail -n 30 "$DIR.debootstrap.log" >&2; die "debootstrap failed (log: $DIR.debootstrap.log)"; }
  echo "debian-root: debootstrap took $(($(date +%s) - t0)) s; installing $PKGS" >&2
  t0=$(date +%s)
  mount_into "$new"
  trap umount_all EXIT
  mount --bind "$debs" "$new/var/cache/apt/archives" && MOUNTED+=("$new/var/cache/apt/archives")
  in_root "$new" DEBIAN_FRONTEND=noninteractive bash -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PKGS" >"$DIR.apt.log" 2>&1 ||
    { tail -n 30 "$DIR.apt.log" >&2; die "apt-get install in the root failed (log: $DIR.apt.log)"; }
  umount_all
  if [ -n "$NODE_FROM_HOST" ]; then
    local node npmdir
    node=$(readlink -f "$(command -v node)")
    npmdir="$(npm root -g)/npm"
    install -D -m 755 "$node" "$new/usr/local/bin/node"
    mkdir -p "$new/usr/local/lib/node_modules"
    cp -a "$npmdir" "$new/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$new/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$new/usr/local/bin/npx"
  fi
  echo "debian-root: apt install took $(($(date +%s) - t0)) s" >&2
  echo "$STAMP_WANT" >"$new/.qwen3-native-stamp"
  rm -rf "$DIR"
  mv "$new" "$DIR"
  echo "$DIR"
}

run() {
  local tree="" puts=() gets=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --tree) tree=1 ;;
      --put) puts+=("$2"); shift ;;
      --get) gets+=("$2"); shift ;;
      --) shift; break ;;
      *) die "run: unknown option '$1'" ;;
    esac
    shift
  done
  [ $# -gt 0 ] || die "run: no command (run NAME [--tree] [--put F] [--get P] -- CMD)"
  ensure >/dev/null
  exec 9>&- # runs share the root (each in its own overlay): only building it is exclusive
  OV=$(mktemp -d "$DIR.run.XXXXXX") # global: the EXIT trap reads it after run() returned
  mkdir -p "$OV/upper" "$OV/work" "$OV/root"
  mount -t overlay overlay -o "lowerdir=$DIR,upperdir=$OV/upper,workdir=$OV/work" "$OV/root"
  MOUNTED+=("$OV/root")
  trap 'umount_all; rm -rf "$OV"' EXIT
  local r="$OV/root" f
  mkdir -p "$r/work"
  if [ -n "$tree" ]; then
    mkdir -p "$r/work/main"
    (cd "$HERE" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && cp --parents -a "$f" "$r/work/main/"
    done)
    # -L: a shared/ that is a link (to the data elsewhere) arrives as the folder it points to, not as a dangling link.
    if [ -d "$HERE/../shared" ]; then cp -aL "$HERE/../shared" "$r/work/shared"; fi
  fi
  for f in ${puts[@]+"${puts[@]}"}; do cp -a "$f" "$r/work/"; done
  mount_into "$r"
  local rc=0
  in_root "$r" CI="${CI:-}" TERM=dumb bash -c "cd /work${tree:+/main} && $*" || rc=$?
  for f in ${gets[@]+"${gets[@]}"}; do
    if [ -e "$r/work/main/$f" ]; then
      rm -rf "${HERE:?}/$f"
      mkdir -p "$(dirname "$HERE/$f")"
      cp -a "$r/work/main/$f" "$HERE/$f"
    else
      echo "debian-root: --get $f: not made by the command" >&2
      [ $rc -ne 0 ] || rc=1
    fi
  done
  return $rc
}

cmd=${1:-}
[ -n "$cmd" ] || die "usage: debian-root.sh ensure NAME | path NAME | run NAME [--tree] [--put F] [--get P] -- CMD"
define "${2:-}"
shift 2
case "$cmd" in
  ensure) ensure ;;
  path) echo "$DIR" ;;
  run) run "$@" ;;
  *) die "unknown command '$cmd' (ensure | path | run)" ;;
esac
