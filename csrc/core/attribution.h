// Token attributions by integrated gradients (Sundararajan et al., 2017): which input tokens moved a classifier
// towards a label. Plain structs; Classifier::explain (attribution.cpp) computes them.
#pragma once

#include <cstdint>
#include <vector>

namespace q3 {

struct AttributionRequest {
  std::vector<int32_t> ids;  // one sequence, as predict reads it (prompt and post for lora)
  int64_t from = 0;          // the tokens attributed, [from, to): the post's, not the prompt's
  int64_t to = 0;
  int64_t label = 0;             // the label explained
  int64_t steps = 32;            // points on the straight path from the baseline to the input
  int64_t baselineToken = 0;     // whose embedding replaces every attributed token in the baseline (the pad token)
  int64_t maxTokensPerPass = 0;  // steps run together while steps x tokens fit this (0: all steps in one pass)
};

struct Attribution {
  std::vector<double> scores;  // per attributed token: its share of target - baseline
  double target = 0;           // f(input): the label's log-probability (lora: its word's, summed over its tokens)
  double baseline = 0;         // f(baseline)
};

}  // namespace q3
