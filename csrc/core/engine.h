// Inference entry points over a loaded Qwen3: plain C++ structs in, plain vectors out (no Node types), one call
// at a time per engine.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.h"

namespace q3 {

struct LoadedModel;
class PromptCache;

struct LoadRequest {
  std::vector<std::string> files;
  Qwen3Config config;
  std::string device = "cpu";  // "cpu" | "cuda"
  std::string dtype = "float32";  // "float32" | "bfloat16" | "float16"
};

struct LoadResult {
  int64_t vocabSize = 0;
  std::string keyPrefix;
  bool hasLmHead = true;
  int64_t parameterBytes = 0;
};

struct SequenceBatch {
  std::vector<int32_t> ids;      // sequences concatenated
  std::vector<int64_t> lengths;  // one per sequence, each >= 1
  bool padLeft = true;
};

struct RunStats {
  int64_t tokensRun = 0;     // tokens that went through the layers
  int64_t tokensReused = 0;  // tokens of a shared prompt not run again: its length for each sequence that reused it
};

class Engine {
 public:
  Engine();
  ~Engine();
  LoadResult load(const LoadRequest& request);
  // [B * vocab] float32 logits at each sequence's last token.
  std::vector<float> lastTokenLogits(const SequenceBatch& batch);
  // [B * hidden] final hidden state at each sequence's last token (Qwen3-Embedding pooling).
  std::vector<float> lastTokenHidden(const SequenceBatch& batch, bool normalize);
  RunStats stats() const;
  int64_t hiddenSize() const;
  int64_t vocabSize() const;
  LoadedModel& model();
  std::mutex& mutex() { return mutex_; }

 private:
  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<PromptCache> promptCache_;
  std::mutex mutex_;
};

}  // namespace q3
