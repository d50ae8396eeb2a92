// Inference entry points over a loaded Qwen3: plain C++ structs in, plain vectors out (no Node types), one call
// at a time per engine.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "prompt_cache.h"
#include "requests.h"

namespace q3 {

struct LoadedModel;

struct LoadResult {
  int64_t vocabSize = 0;
  std::string keyPrefix;
  bool hasLmHead = true;
  int64_t parameterBytes = 0;
};

class Engine {
 public:
  Engine();
  ~Engine();
  LoadResult load(const LoadRequest& request);
  // [N * vocab] float32 logits at each sequence's last token, in input order; forward passes by length under
  // `limits` (batches.h).
  std::vector<float> lastTokenLogits(const SequenceBatch& batch, const BatchLimits& limits = {});
  // [N * hidden] final hidden state at each sequence's last token (Qwen3-Embedding pooling), likewise.
  std::vector<float> lastTokenHidden(const SequenceBatch& batch, bool normalize, const BatchLimits& limits = {});
  RunStats stats() const;

 private:
  LoadedModel& model();

  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<PromptCache> promptCache_;
  std::mutex mutex_;
};

}  // namespace q3
