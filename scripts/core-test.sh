#!/usr/bin/env bash
# Builds qwen3_core_test (csrc/test/core_test.cpp: the C++ core against the float64 goldens, no Node) and runs it with
# ctest, against the libtorch scripts/find-libtorch.js picks.
#   scripts/core-test.sh            (npm run test:core)
# The tree: QWEN3_CORE_TEST_BUILD if set; else the addon's kept CMake tree (QWEN3_NATIVE_BUILD_DIR, as .ci/run and
# the set-up keep it), where qwen3_core is already compiled and only core_test.cpp is new (seconds, not the minutes
# of compiling the core again); else build-core-test/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -n "${QWEN3_CORE_TEST_BUILD:-}" ]]; then
  build="$QWEN3_CORE_TEST_BUILD"
elif [[ -n "${QWEN3_NATIVE_BUILD_DIR:-}" && -f "$QWEN3_NATIVE_BUILD_DIR/CMakeCache.txt" ]]; then
  build="$QWEN3_NATIVE_BUILD_DIR"
else
  build="$root/build-core-test"
fi
torch_dir="$(node -e "console.log(require('$root/scripts/find-libtorch.js').findLibtorch().torchDir)")"
generator=()
if command -v ninja > /dev/null && [[ ! -f "$build/CMakeCache.txt" ]]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DQWEN3_NATIVE_TESTS=ON -DTorch_DIR="$torch_dir" > /dev/null
cmake --build "$build" --target qwen3_core_test --parallel "$(nproc)"
ctest --test-dir "$build" --output-on-failure --verbose  # --verbose: the differences, also when it passes
