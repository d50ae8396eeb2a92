// What the entry points (Engine, Classifier) take, as plain C++ without libtorch: which checkpoint to load and how,
// and a batch of token sequences. The binding fills these from JS values.
#pragma once

#include <cstdint>
#include <string>
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

struct SequenceBatch {
  std::vector<int32_t> ids;      // sequences concatenated
  std::vector<int64_t> lengths;  // one per sequence, each >= 1
  bool padLeft = true;
};

}  // namespace q3
