// The safetensors header, parsed and checked without libtorch (so a fuzzer can run it alone):
//   [u64 little-endian N][N bytes of UTF-8 JSON: {"name": {"dtype", "shape", "data_offsets"}, "__metadata__"?}][data]
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace q3 {

struct TensorEntry {
  std::string dtype;  // "F32", "BF16", "F16", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // absolute file offsets
  uint64_t end = 0;
};

// The largest header read (the reference implementation's limit too): a corrupt length is refused before allocation.
constexpr uint64_t kMaxSafetensorsHeaderBytes = uint64_t(100) << 20;

// Bytes per element of a safetensors dtype name; 0 for a name this reader does not know.
size_t safetensorsElementSize(const std::string& dtype);

// "[2, 3]"
std::string shapeString(const std::vector<int64_t>& shape);

// The value of the 8-byte little-endian length prefix.
uint64_t safetensorsHeaderLength(const unsigned char prefix[8]);

// Checks `header` (the JSON after the length prefix) against a file of fileSize bytes: valid UTF-8 and JSON, an
// object of tensor entries with known dtypes, non-negative dimensions whose product cannot overflow, and data
// offsets that match dtype x shape and lie inside the data section. Throws std::runtime_error saying what is wrong
// (naming the tensor; the caller adds the file's name).
std::map<std::string, TensorEntry> parseSafetensorsHeader(const std::string& header, uint64_t fileSize);

}  // namespace q3
