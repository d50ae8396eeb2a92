#include "batches.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include "device.h"

namespace q3 {

std::vector<std::vector<int64_t>> planForwardPasses(const std::vector<int64_t>& lengths, const BatchLimits& limits) {
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), int64_t(0));
  std::vector<std::vector<int64_t>> passes;
  if (order.empty()) return passes;
  if (limits.maxRows <= 0 && limits.maxTokens <= 0) {
    passes.push_back(std::move(order));
    return passes;
  }
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<int64_t> current;
  int64_t longest = 0;
  for (int64_t i : order) {
    const int64_t rows = static_cast<int64_t>(current.size()) + 1;
    const int64_t widest = std::max(longest, lengths[i]);
    const bool tooMany = limits.maxRows > 0 && rows > limits.maxRows;
    const bool tooBig = limits.maxTokens > 0 && rows * widest > limits.maxTokens;
    if (!current.empty() && (tooMany || tooBig)) {
      passes.push_back(std::move(current));
      current.clear();
      longest = 0;
    }
    current.push_back(i);
    longest = std::max(longest, lengths[i]);
  }
  passes.push_back(std::move(current));
  return passes;
}

PassRows runForwardPasses(const SequenceBatch& all, const BatchLimits& limits, int64_t width,
                          const std::function<torch::Tensor(const SequenceBatch&)>& pass) {
  PassRows out;
  out.values.resize(all.size() * static_cast<size_t>(width));
  for (const std::vector<int64_t>& rows : planForwardPasses(all.lengths, limits)) {
    const SequenceBatch part = all.select(rows);
    out.largestPassTokens = std::max(out.largestPassTokens, part.tokens());
    const torch::Tensor result = toHostFloat(pass(part));
    if (result.dim() != 2 || result.size(0) != static_cast<int64_t>(rows.size()) || result.size(1) != width)
      throw std::logic_error("a forward pass gave shape " + c10::str(result.sizes()) + " for " +
                             std::to_string(rows.size()) + " sequences of width " + std::to_string(width));
    const float* p = result.data_ptr<float>();
    for (size_t j = 0; j < rows.size(); ++j)
      std::memcpy(out.values.data() + rows[j] * width, p + j * width, static_cast<size_t>(width) * sizeof(float));
  }
  return out;
}

}  // namespace q3
