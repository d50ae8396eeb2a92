#include "prompt_cache.h"

#include <algorithm>

#include "device.h"

namespace q3 {
namespace {

// Tokens every sequence starts with, leaving each at least one token of its own.
int64_t sharedPrefixLength(const SequenceBatch& batch) {
  if (batch.lengths.empty()) return 0;
  int64_t shared = *std::min_element(batch.lengths.begin(), batch.lengths.end()) - 1;
  int64_t offset = batch.lengths[0];
  for (size_t i = 1; i < batch.lengths.size() && shared > 0; ++i) {
    int64_t same = 0;
    while (same < shared && batch.ids[offset + same] == batch.ids[same]) ++same;
    shared = same;
    offset += batch.lengths[i];
  }
  return std::max<int64_t>(shared, 0);
}

bool startsWith(const SequenceBatch& batch, const std::vector<int64_t>& prefix) {
  const int64_t p = static_cast<int64_t>(prefix.size());
  int64_t offset = 0;
  for (int64_t len : batch.lengths) {
    if (len <= p) return false;
    for (int64_t t = 0; t < p; ++t)
      if (batch.ids[offset + t] != prefix[t]) return false;
    offset += len;
  }
  return true;
}

SequenceBatch withoutPrefix(const SequenceBatch& batch, int64_t p) {
  SequenceBatch rest;
  rest.padLeft = batch.padLeft;
  rest.ids.reserve(batch.ids.size() - batch.lengths.size() * p);
  int64_t offset = 0;
  for (int64_t len : batch.lengths) {
    rest.ids.insert(rest.ids.end(), batch.ids.begin() + offset + p, batch.ids.begin() + offset + len);
    rest.lengths.push_back(len - p);
    offset += len;
  }
  return rest;
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
      prefix_ = model.prefill(std::vector<int64_t>(batch.ids.begin(), batch.ids.begin() + shared));
      tokensRun_ += shared;
      prefix = &prefix_;
    }
  }
  const int64_t p = prefix ? prefix->length() : 0;
  const SequenceBatch rest = p > 0 ? withoutPrefix(batch, p) : SequenceBatch();
  const SequenceBatch& run = p > 0 ? rest : batch;
  tokensRun_ += static_cast<int64_t>(run.ids.size());
  tokensReused_ += p * static_cast<int64_t>(batch.lengths.size());
  TokenBatch tb = makeTokenBatch(run.ids.data(), run.lengths, run.padLeft, kPadTokenId, device);
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
