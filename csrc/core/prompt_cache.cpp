#include "prompt_cache.h"

#include <algorithm>

#include "device.h"

namespace q3 {
namespace {

// Tokens every sequence starts with, leaving each at least one token of its own.
int64_t sharedPrefixLength(const SequenceBatch& batch) {
  if (batch.size() == 0) return 0;
  int64_t shared = *std::min_element(batch.lengths.begin(), batch.lengths.end()) - 1;
  const int32_t* first = batch.sequence(0);
  for (size_t i = 1; i < batch.size() && shared > 0; ++i) {
    const int32_t* ids = batch.sequence(i);
    int64_t same = 0;
    while (same < shared && ids[same] == first[same]) ++same;
    shared = same;
  }
  return std::max<int64_t>(shared, 0);
}

bool startsWith(const SequenceBatch& batch, const std::vector<int64_t>& prefix) {
  const int64_t p = static_cast<int64_t>(prefix.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch.lengths[i] <= p) return false;
    const int32_t* ids = batch.sequence(i);
    for (int64_t t = 0; t < p; ++t)
      if (ids[t] != prefix[t]) return false;
  }
  return true;
}

}  // namespace

torch::Tensor PromptCache::lastHidden(Qwen3ModelImpl& model, const SequenceBatch& batch, PrefixKV* keep) {
  const torch::Device device = model.embed_tokens->weight.device();
  const PrefixKV* prefix = nullptr;
  if (prefix_.length() > 0 && startsWith(batch, prefix_.ids)) {
    prefix = &prefix_;
  } else if (batch.lengths.size() > 1) {
    // A single sequence shares nothing; a batch defines the prompt that later calls reuse.
    const int64_t shared = sharedPrefixLength(batch);
    if (shared >= kMinSharedTokens) {
      prefix_ = model.prefill(batch.sequence(0), shared);
      tokensRun_ += shared;
      prefix = &prefix_;
    }
  }
  const int64_t p = prefix ? prefix->length() : 0;
  // The tokens after the prompt: a view of the same ids (offsets moved on), not a copy.
  const SequenceBatch rest = p > 0 ? batch.withoutPrefix(p) : SequenceBatch();
  const SequenceBatch& run = p > 0 ? rest : batch;
  tokensRun_ += run.tokens();
  tokensReused_ += p * static_cast<int64_t>(batch.size());
  TokenBatch tb = makeTokenBatch(run, kPadTokenId, device);
  if (keep) {
    keep->keys.resize(model.layers->size());
    keep->values.resize(model.layers->size());
  }
  torch::Tensor hidden = model.forward(tb, prefix, keep);  // [B, T, hidden]
  if (keep) {
    const int64_t B = tb.valid.size(0);
    keep->ids.clear();
    keep->valid = torch::cat({torch::ones({B, p}, tb.valid.options()), tb.valid}, 1);  // [B, P + T]
    keep->next = tb.valid.sum(1) + p;                                                  // [B]
  }
  return rowsAt(hidden, tb.last);  // [B, hidden]
}

}  // namespace q3
