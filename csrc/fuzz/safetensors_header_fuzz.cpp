// libFuzzer target for the safetensors header parser (csrc/core/safetensors_header.cpp + json.cpp, no libtorch):
// the input is a whole file, as SafetensorsFile reads it. Any exception other than std::runtime_error, and any crash,
// leak or undefined behaviour the sanitizers see, is a finding. scripts/fuzz-safetensors.sh builds and runs it
// (clang and libFuzzer from Debian 12: clang-14, libclang-rt-14-dev); test/qwen3/safetensors-fuzz.test.js is the CI-sized
// counterpart through the addon.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../core/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  const uint64_t length = q3::safetensorsHeaderLength(data);
  if (length == 0 || length > q3::kMaxSafetensorsHeaderBytes || length > size - 8) return 0;
  const std::string header(reinterpret_cast<const char*>(data) + 8, static_cast<size_t>(length));
  // The seeds are checkpoint headers without their (megabytes of) data: the input's last byte stretches the file by
  // 0-255 x 16 MB, so offsets are checked against data that is "there" as often as against data that is cut short.
  const uint64_t fileSize = size + (static_cast<uint64_t>(data[size - 1]) << 24);
  try {
    const auto entries = q3::parseSafetensorsHeader(header, fileSize);
    for (const auto& [name, e] : entries) {
      // What the reader relies on: offsets inside the file and a byte count that matches the shape.
      if (e.end < e.begin || e.end > fileSize || e.begin < 8 + length) __builtin_trap();
      uint64_t bytes = q3::safetensorsElementSize(e.dtype);
      for (int64_t d : e.shape) bytes *= static_cast<uint64_t>(d);
      if (bytes != e.end - e.begin) __builtin_trap();
    }
  } catch (const std::runtime_error&) {
    // a rejection: what the parser is for
  }
  return 0;
}
