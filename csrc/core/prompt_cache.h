// Reuse of a prompt that every sequence of a batch starts with (the lora instruction, the Qwen3-Embedding
// instruction): its keys and values are computed once and kept while the prompt stays the same, so each batch runs
// only the tokens after it. For Weibo posts under the default lora prompt that is about a quarter of the tokens.
#pragma once

#include <torch/torch.h>

#include <atomic>

#include "qwen3.h"

namespace q3 {

struct RunStats {
  int64_t tokensRun = 0;     // tokens that went through the layers
  int64_t tokensReused = 0;  // tokens of a shared prompt not run again: its length for each sequence that reused it
};

class PromptCache {
 public:
  // Final hidden state at each sequence's last token, [B, hidden]. Inference only (call under InferenceMode).
  // keep: receives each sequence's keys and values as a per-sequence PrefixKV (the shared prompt's included), for
  // continuations of the sequences (lora's label words of several tokens).
  torch::Tensor lastHidden(Qwen3ModelImpl& model, const SequenceBatch& batch, PrefixKV* keep = nullptr);
  // Forget the cached prompt (the weights it was computed with changed).
  void clear() { prefix_ = PrefixKV(); }
  // Tokens run through the layers, and tokens whose keys and values came from the cache instead, since creation.
  // Readable from any thread.
  RunStats stats() const { return {tokensRun_.load(), tokensReused_.load()}; }

  // Shorter shared starts are not worth a separate pass.
  static constexpr int64_t kMinSharedTokens = 8;

 private:
  PrefixKV prefix_;
  std::atomic<int64_t> tokensRun_{0}, tokensReused_{0};
};

}  // namespace q3
