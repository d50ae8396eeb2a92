// What the entry points (Engine, Classifier) take, as plain C++ without libtorch: which checkpoint to load and how,
// a batch of token sequences and the limits of one forward pass. The binding fills these from JS values.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

namespace q3 {

// Whether embed_tokens stays in the checkpoint file (rows read per lookup) for CPU inference. lib/ reads the choice
// from QWEN3_NATIVE_MAP_EMBEDDINGS.
enum class EmbeddingMapping {
  Auto,  // when the table is big enough to be worth it (see loadQwen3)
  Always,
  Never,
};

struct LoadRequest {
  std::vector<std::string> files;  // safetensors files holding every tensor of the checkpoint
  Qwen3Config config;
  std::string device = "cpu";     // "cpu" | "cuda"
  std::string dtype = "float32";  // "float32" | "bfloat16" | "float16"
  EmbeddingMapping mapEmbeddings = EmbeddingMapping::Auto;
};

// Token sequences read in place: sequence i is ids[starts[i] .. starts[i] + lengths[i]). The ids belong to the caller,
// who keeps them alive for the call (the binding pins the JS Int32Array; lib/ built it for the call), so the
// sequences of one forward pass out of many, or the sequences past a prefix they share (PromptCache), are new views,
// never copies of the ids.
struct SequenceBatch {
  const int32_t* ids = nullptr;
  std::vector<int64_t> starts;   // one per sequence
  std::vector<int64_t> lengths;  // one per sequence, each >= 1
  bool padLeft = true;

  // Sequences stored one after another in `ids`.
  static SequenceBatch concatenated(const int32_t* ids, std::vector<int64_t> lengths, bool padLeft) {
    SequenceBatch b;
    b.ids = ids;
    b.lengths = std::move(lengths);
    b.starts.reserve(b.lengths.size());
    int64_t at = 0;
    for (int64_t len : b.lengths) {
      b.starts.push_back(at);
      at += len;
    }
    b.padLeft = padLeft;
    return b;
  }
  size_t size() const { return lengths.size(); }
  const int32_t* sequence(size_t i) const { return ids + starts[i]; }
  int64_t tokens() const {
    int64_t n = 0;
    for (int64_t len : lengths) n += len;
    return n;
  }
  // These sequences, in this order.
  SequenceBatch select(const std::vector<int64_t>& rows) const {
    SequenceBatch b;
    b.ids = ids;
    b.padLeft = padLeft;
    b.starts.reserve(rows.size());
    b.lengths.reserve(rows.size());
    for (int64_t r : rows) {
      b.starts.push_back(starts[r]);
      b.lengths.push_back(lengths[r]);
    }
    return b;
  }
  // Every sequence without its first p tokens (each is longer than p).
  SequenceBatch withoutPrefix(int64_t p) const {
    SequenceBatch b = *this;
    for (size_t i = 0; i < size(); ++i) {
      b.starts[i] += p;
      b.lengths[i] -= p;
    }
    return b;
  }
};

// How many sequences one forward pass of many may take. The core splits a call into forward passes by length under
// these limits (batches.h); 0 is no limit.
struct BatchLimits {
  int64_t maxRows = 0;    // sequences per pass
  int64_t maxTokens = 0;  // padded tokens per pass: sequences x the longest one
};

}  // namespace q3
