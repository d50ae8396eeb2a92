// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with its state exposed as
// named tensors so a checkpoint can be written to safetensors and resumed bit-for-bit.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace q3 {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.01;
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options);
  // Clips the global gradient norm to maxGradNorm (when > 0), updates, zeroes gradients; returns the norm before
  // clipping.
  double step(double lr, double maxGradNorm);
  void zeroGrad();
  // "<name>.exp_avg", "<name>.exp_avg_sq" and "__step__".
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void loadState(const std::vector<std::pair<std::string, torch::Tensor>>& state);

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> expAvg_, expAvgSq_;
  AdamWOptions options_;
  int64_t step_ = 0;
};

}  // namespace q3
