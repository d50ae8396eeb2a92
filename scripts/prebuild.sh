#!/usr/bin/env bash
# Builds the prebuilt addon for the libtorch found ($LIBTORCH, Python torch, the system's; scripts/find-libtorch.js)
# into prebuilds/<variant>/prebuilds/linux-x64/qwen3_native.node: stripped, no RUNPATH, with qwen3_native.json beside
# it (torch version, C++ ABI, glibc floor, sha256, what a user installs to run it). .ci/run and
# .github/workflows/prebuild.yml call this; so can you:
#
#   bash scripts/prebuild.sh [VARIANT]     VARIANT (e.g. torch-2.6-cxx11abi1-debian): fail unless the libtorch found
#                                          makes that variant
#
# Needs what a source build needs (g++, cmake, make, libtorch's headers and CMake files, npm ci done) plus binutils
# (strip, objdump, readelf). QWEN3_NATIVE_BUILD_DIR keeps the CMake tree for an incremental rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build-native.js --prebuild ${1:+--expect "$1"}
