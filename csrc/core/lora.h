// LoRA injection by module-name suffix, and PEFT's on-disk key names in one place.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "linear.h"

namespace q3 {

// Wraps every Linear whose name ends with one of `targets` (e.g. "q_proj"); returns how many were wrapped.
int64_t injectLora(torch::nn::Module& root, const std::vector<std::string>& targets, const LoraSpec& spec);

struct LoraParam {
  std::string key;       // base_model.model.<module>.lora_A.weight
  torch::Tensor tensor;  // the live parameter
};
// Every LoRA factor under `root` with its PEFT key; namePrefix + a module's name under root is its HF name
// (model.layers.N...).
std::vector<LoraParam> loraParameters(torch::nn::Module& root, const std::string& namePrefix);

void mergeLora(torch::nn::Module& root);
void unmergeLora(torch::nn::Module& root);

// PEFT prefixes: adapters are saved relative to PeftModel.base_model.model.
inline std::string peftKey(const std::string& hfName) { return "base_model.model." + hfName; }

}  // namespace q3
