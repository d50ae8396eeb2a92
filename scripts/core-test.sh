#!/usr/bin/env bash
# Builds qwen3_core_test (csrc/test/core_test.cpp: the C++ core against the float64 goldens, no Node) in its own
# build folder, against the libtorch scripts/find-libtorch.js picks, and runs it with ctest. The addon's build
# (`npm run build:native`, ./build) is not touched and never builds the test (QWEN3_NATIVE_TESTS is OFF there).
#   scripts/core-test.sh            (npm run test:core; QWEN3_CORE_TEST_BUILD chooses the folder, default build-core-test/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${QWEN3_CORE_TEST_BUILD:-$root/build-core-test}"
torch_dir="$(node -e "console.log(require('$root/scripts/find-libtorch.js').findLibtorch().torchDir)")"
generator=()
if command -v ninja > /dev/null && [[ ! -f "$build/CMakeCache.txt" ]]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DQWEN3_NATIVE_TESTS=ON -DTorch_DIR="$torch_dir" > /dev/null
cmake --build "$build" --target qwen3_core_test --parallel "$(nproc)"
ctest --test-dir "$build" --output-on-failure --verbose  # --verbose: the differences, also when it passes
