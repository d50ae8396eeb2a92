#!/usr/bin/env bash
# Coverage-guided fuzzing of the safetensors header parser with libFuzzer, ASan and UBSan (not part of npm test or
# CI: test/qwen3/safetensors-fuzz.test.js runs a seeded, bounded fuzz through the addon there). Needs clang and libFuzzer
# (Debian 12: apt-get install clang-14 libclang-rt-14-dev). The corpus starts from the test fixtures' safetensors files.
#   scripts/fuzz-safetensors.sh [seconds, default 60] [extra libFuzzer flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
clang="$(command -v clang++ || command -v clang++-14 || true)"
if [[ -z "$clang" ]]; then
  echo "fuzz-safetensors: clang++ not found (Debian 12: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
out="${QWEN3_FUZZ_BUILD:-$root/build-fuzz}"
mkdir -p "$out/corpus"
"$clang" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -o "$out/safetensors_header_fuzz" "$root/csrc/fuzz/safetensors_header_fuzz.cpp" \
  "$root/csrc/core/safetensors_header.cpp" "$root/csrc/core/json.cpp"
# Seeds: every fixture file cut to its header plus a little data (the parser only reads the header).
find "$root/test/fixtures" -name '*.safetensors' | while read -r f; do
  head -c 65536 "$f" > "$out/corpus/$(basename "$(dirname "$f")")-$(basename "$f")"
done
"$out/safetensors_header_fuzz" "$out/corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 "$@"
