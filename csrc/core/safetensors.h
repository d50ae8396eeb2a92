// safetensors reading (header validated against the file size, tensors read with pread so the page cache,
// not our RSS, holds the file) and atomic writing.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "safetensors_header.h"

namespace q3 {

class SafetensorsFile {
 public:
  // Parses and validates the header (parseSafetensorsHeader); throws std::runtime_error naming the file on any
  // inconsistency, and on anything but a regular file (a named pipe would block the read forever).
  explicit SafetensorsFile(std::string path);
  const std::string& path() const { return path_; }
  const std::map<std::string, TensorEntry>& entries() const { return entries_; }
  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  // Reads one tensor into CPU memory in its stored dtype.
  torch::Tensor read(const std::string& name) const;
  // A CPU tensor backed by a private mapping of the file: pages load on first touch (an embedding table used for
  // lookups stays mostly on disk) and writes stay private. The mapping lives as long as any tensor from it.
  torch::Tensor map(const std::string& name) const;

 private:
  std::string path_;
  mutable std::shared_ptr<void> mapping_;
  std::map<std::string, TensorEntry> entries_;
};

// Reads chosen rows of a 2-D tensor with pread. Lookups into a big table (the embedding) then never map its pages:
// through a mapping, the kernel maps the whole page-cache folio around each touched row (measured: 0.19 GB resident
// for the rows of 64 posts with Qwen3-0.6B).
class RowReader {
 public:
  RowReader(std::string path, TensorEntry entry);
  // ids: int64 CPU tensor (any shape) of row numbers -> [..., columns] in the stored dtype.
  torch::Tensor rows(const torch::Tensor& ids) const;

 private:
  std::string path_;
  TensorEntry entry_;
  std::shared_ptr<const int> fd_;
};

// A set of files (one checkpoint, possibly sharded) seen as one name -> tensor map.
class TensorStore {
 public:
  explicit TensorStore(const std::vector<std::string>& files);
  bool has(const std::string& name) const { return where_.count(name) > 0; }
  const TensorEntry& entry(const std::string& name) const;
  const std::string& fileOf(const std::string& name) const;
  // Every tensor name, with the index of the file holding it.
  const std::map<std::string, size_t>& index() const { return where_; }
  // "a.safetensors, b.safetensors", for messages.
  std::string fileList() const;
  // Reads `name`, checks its shape, converts to dtype. Errors name the tensor and the file.
  torch::Tensor load(const std::string& name, const std::vector<int64_t>& expectedShape, at::ScalarType dtype) const;
  // As load, but memory-mapped when the stored dtype is `dtype` (falls back to load otherwise).
  torch::Tensor loadMapped(const std::string& name, const std::vector<int64_t>& expectedShape,
                           at::ScalarType dtype) const;
  // A row reader for a 2-D tensor stored in `dtype`; null when it is stored otherwise.
  std::shared_ptr<RowReader> rowReader(const std::string& name, at::ScalarType dtype) const;

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;
};

at::ScalarType scalarTypeOf(const std::string& dtype);
std::string dtypeName(at::ScalarType t);

// Writes tensors (any device/dtype among F32/BF16/F16/I64) to `path` via a temporary file and rename.
void writeSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Writes text atomically (temporary file, fsync, rename).
void writeFileAtomic(const std::string& path, const std::string& contents);

}  // namespace q3
