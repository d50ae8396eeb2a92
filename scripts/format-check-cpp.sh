#!/usr/bin/env bash
# Exits non-zero when a C++ file under csrc/ differs from what clang-format (.clang-format) makes of it.
#   scripts/format-check-cpp.sh          check (CI)
#   scripts/format-check-cpp.sh --fix    rewrite the files in place
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format="${CLANG_FORMAT:-clang-format}"
if ! command -v "$clang_format" > /dev/null; then
  echo "format-check-cpp: $clang_format not found (Debian/Ubuntu: apt-get install clang-format)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files 'csrc/*.h' 'csrc/*.cpp')
if [[ "${1:-}" == "--fix" ]]; then
  "$clang_format" -i "${files[@]}"
else
  "$clang_format" --dry-run --Werror "${files[@]}"
  echo "format-check-cpp: ${#files[@]} files formatted as .clang-format says"
fi
