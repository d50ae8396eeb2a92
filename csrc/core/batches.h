// Prediction over any number of sequences in one call: the core cuts them into forward passes by length (similar
// lengths together, so padding, which is wasted compute, stays small) under a row and token budget, and hands the
// results back as one [N, width] block in input order. Every prediction entry point (Engine::lastTokenLogits and
// lastTokenHidden, Classifier::predict) runs through here, so lib/ makes one native call per request batch, and no
// pass is bigger than its limits however many sequences a call brings.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "requests.h"

namespace q3 {

// The forward passes for sequences of these lengths, each a list of sequence indices: longest first (ties in input
// order), a pass closed when one more sequence would exceed limits.maxRows, or make sequences x longest exceed
// limits.maxTokens (a sequence longer than maxTokens runs alone). Without limits: one pass, in input order.
std::vector<std::vector<int64_t>> planForwardPasses(const std::vector<int64_t>& lengths, const BatchLimits& limits);

struct PassRows {
  std::vector<float> values;      // [N * width] float32, row i for sequence i
  int64_t largestPassTokens = 0;  // real tokens of the biggest pass (its transient memory: transientBytes)
};

// Runs `pass` on each forward pass's sequences (planForwardPasses); `pass` returns [sequences, width] for them, in
// their order, on any device and in any floating dtype.
PassRows runForwardPasses(const SequenceBatch& all, const BatchLimits& limits, int64_t width,
                          const std::function<torch::Tensor(const SequenceBatch&)>& pass);

}  // namespace q3
