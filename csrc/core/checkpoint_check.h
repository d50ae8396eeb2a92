// The config's counts and shapes against the tensors a checkpoint holds, before any module is built: a config that
// disagrees with its weights (num_hidden_layers 1e8 beside a 2-layer file) must be an error naming the tensor, the file
// and the config key, not a model that allocates layers until memory runs out.
#pragma once

#include <string>

#include "config.h"

namespace q3 {

class TensorStore;

// Throws std::runtime_error on the first tensor that is missing, has another shape than the config implies, or is
// not stored as F32, BF16 or F16; and when the checkpoint holds more or fewer layers than num_hidden_layers.
// prefix: "model." (Qwen3ForCausalLM keys) or "" (Qwen3Model); causal: whether an lm_head is expected (untied).
void checkCheckpointAgainstConfig(const TensorStore& store, const Qwen3Config& config, const std::string& prefix,
                                  bool causal);

}  // namespace q3
