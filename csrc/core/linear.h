// Bias-free Linear with an optional LoRA path, shaped as PEFT's lora.Linear: y = W x + scale * B(A(dropout(x))).
// The base weight keeps the model's dtype; LoRA factors stay float32 (master weights) and their product is cast
// back to the activation dtype, which gives bf16 mixed precision without autocast.
#pragma once

#include <torch/torch.h>

namespace q3 {

struct LoraSpec {
  int64_t r = 8;
  double alpha = 16;
  double dropout = 0.05;
  bool rslora = false;
  double scale() const { return rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r); }
};

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t inFeatures, int64_t outFeatures, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  // Adds lora_A [r, in] (Kaiming-uniform, a = sqrt(5), as nn.Linear/PEFT) and lora_B [out, r] (zeros).
  void addLora(const LoraSpec& spec);
  bool hasLora() const { return lora_A.defined(); }
  // Folds scale * B A into the base weight (inference speed) and back out.
  void merge();
  void unmerge();
  bool merged() const { return merged_; }

  int64_t in_features;
  int64_t out_features;
  torch::Tensor weight;  // [out, in]
  torch::Tensor lora_A;  // [r, in]  float32
  torch::Tensor lora_B;  // [out, r] float32
  LoraSpec lora;

 private:
  torch::Tensor delta() const;  // scale * B A, [out, in] float32
  bool merged_ = false;
};
TORCH_MODULE(Linear);

}  // namespace q3
