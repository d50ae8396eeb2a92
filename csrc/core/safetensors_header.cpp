#include "safetensors_header.h"

#include <cstdint>
#include <sstream>
#include <stdexcept>

#include "json.h"

namespace q3 {
namespace {

// More dimensions than any checkpoint tensor has (weights have at most 4); a header listing thousands is corrupt.
constexpr size_t kMaxDims = 16;

// Offset of the first byte that is not valid UTF-8 (overlong forms, surrogates and code points past U+10FFFF
// included), or npos.
size_t invalidUtf8At(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string::npos;
}

uint64_t offsetOf(const Json& v) {
  const int64_t n = v.asInt();
  if (n < 0) throw std::runtime_error("data_offsets must not be negative (found " + std::to_string(n) + ")");
  return static_cast<uint64_t>(n);
}

TensorEntry parseEntry(const Json& info, uint64_t dataSize) {
  if (!info.isObject()) throw std::runtime_error("entry is not a JSON object");
  TensorEntry e;
  const Json& dtype = info.at("dtype");
  if (!dtype.isString()) throw std::runtime_error("dtype is not a string");
  e.dtype = dtype.asString();
  const size_t width = safetensorsElementSize(e.dtype);
  if (width == 0) throw std::runtime_error("unknown dtype '" + e.dtype.substr(0, 40) + "'");
  const Json& shape = info.at("shape");
  if (!shape.isArray()) throw std::runtime_error("shape is not an array");
  if (shape.items().size() > kMaxDims)
    throw std::runtime_error("shape has " + std::to_string(shape.items().size()) + " dimensions (at most " +
                             std::to_string(kMaxDims) + ")");
  // The byte count is built up with overflow checks: a shape like [2^32, 2^32] multiplies to 2^64, which wraps to 0
  // in uint64 and matched empty data_offsets, passing a tensor of 2^64 elements on to the allocator.
  uint64_t bytes = width;
  for (const Json& d : shape.items()) {
    const int64_t n = d.asInt();
    if (n < 0) throw std::runtime_error("shape " + shape.dump() + " has a negative dimension");
    e.shape.push_back(n);
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(n), &bytes) || bytes > static_cast<uint64_t>(INT64_MAX))
      throw std::runtime_error("shape " + shape.dump() + " of " + e.dtype + " overflows 64-bit byte counts");
  }
  const Json& offsets = info.at("data_offsets");
  if (!offsets.isArray() || offsets.items().size() != 2)
    throw std::runtime_error("data_offsets must be an array of two integers");
  const uint64_t begin = offsetOf(offsets.items()[0]), end = offsetOf(offsets.items()[1]);
  if (end < begin || end - begin != bytes)
    throw std::runtime_error("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + ") do not match " +
                             e.dtype + " " + shapeString(e.shape) + " (" + std::to_string(bytes) + " bytes)");
  if (end > dataSize)
    throw std::runtime_error("data ends at byte " + std::to_string(end) + " of the data section, which has " +
                             std::to_string(dataSize) + " bytes (truncated file?)");
  e.begin = begin;
  e.end = end;
  return e;
}

}  // namespace

// The format's dtypes (lib/qwen3/safetensors.ts has the same table); reading a tensor needs a libtorch type too.
size_t safetensorsElementSize(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

std::string shapeString(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

uint64_t safetensorsHeaderLength(const unsigned char prefix[8]) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  return n;
}

std::map<std::string, TensorEntry> parseSafetensorsHeader(const std::string& header, uint64_t fileSize) {
  if (header.empty() || header.size() > kMaxSafetensorsHeaderBytes || 8 + header.size() > fileSize)
    throw std::runtime_error("corrupt or truncated safetensors header (header length " + std::to_string(header.size()) +
                             ", file size " + std::to_string(fileSize) + ")");
  const size_t bad = invalidUtf8At(header);
  if (bad != std::string::npos)
    throw std::runtime_error("safetensors header is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  Json doc;
  try {
    doc = Json::parse(header);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!doc.isObject()) throw std::runtime_error("safetensors header is not a JSON object");
  const uint64_t dataSize = fileSize - 8 - header.size();
  std::map<std::string, TensorEntry> entries;
  for (const auto& [name, info] : doc.members()) {
    if (name == "__metadata__") continue;  // free-form strings ({"format": "pt"}); nothing here reads them
    try {
      TensorEntry e = parseEntry(info, dataSize);
      e.begin += 8 + header.size();
      e.end += 8 + header.size();
      entries.emplace(name, std::move(e));
    } catch (const std::exception& err) {
      throw std::runtime_error("tensor '" + name.substr(0, 200) + "': " + err.what());
    }
  }
  return entries;
}

}  // namespace q3
