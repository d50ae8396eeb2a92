#include "linear.h"

#include <cmath>

namespace q3 {

LinearImpl::LinearImpl(int64_t inFeatures, int64_t outFeatures, const torch::TensorOptions& options)
    : in_features(inFeatures), out_features(outFeatures) {
  // Uninitialised: weights always come from a checkpoint or an explicit initialiser.
  weight = register_parameter("weight", torch::empty({outFeatures, inFeatures}, options), /*requires_grad=*/false);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::nn::functional::linear(x, weight);
  if (!hasLora() || merged_) return y;
  if (!torch::GradMode::is_enabled() && x.scalar_type() != torch::kFloat) {
    // Inference in bf16/fp16: the low-rank product stays in the activation dtype and is accumulated into y by one
    // rank-r GEMM, without the float32 [tokens, out] temporaries of the training path (measured 10-20% of a 0.6B
    // forward). Rounding is relative to the adapter's own contribution, unlike merging B A into bf16 weights.
    const auto dtype = x.scalar_type();
    torch::Tensor t = torch::nn::functional::linear(x, lora_A.to(dtype)).reshape({-1, lora.r});  // [tokens, r]
    torch::Tensor y2 = y.view({-1, out_features});                                               // [tokens, out]
    y2.addmm_(t, lora_B.to(dtype).t(), /*beta=*/1.0, /*alpha=*/lora.scale());
    return y;
  }
  torch::Tensor h = x.to(torch::kFloat);
  if (lora.dropout > 0 && is_training()) h = torch::dropout(h, lora.dropout, /*train=*/true);
  torch::Tensor update = torch::nn::functional::linear(torch::nn::functional::linear(h, lora_A), lora_B);
  return y + (update * lora.scale()).to(y.scalar_type());
}

void LinearImpl::addLora(const LoraSpec& spec) {
  if (spec.r <= 0) throw std::invalid_argument("LoRA r must be positive");
  // libtorch modules cannot unregister a parameter, so a layer is adapted once.
  if (hasLora()) throw std::logic_error("this layer already has a LoRA adapter");
  lora = spec;
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(weight.device());
  // Drawn on the CPU and moved: the same seed gives the same adapter on every device.
  torch::Tensor a = torch::empty({spec.r, in_features}, torch::kFloat);
  torch::NoGradGuard noGrad;
  // kaiming_uniform_(a=sqrt(5)) on [r, in]: bound = 1/sqrt(in), exactly what nn.Linear.reset_parameters uses.
  torch::nn::init::kaiming_uniform_(a, std::sqrt(5.0));
  lora_A = register_parameter("lora_A", a.to(weight.device()), true);
  lora_B = register_parameter("lora_B", torch::zeros({out_features, spec.r}, opts), true);
}

torch::Tensor LinearImpl::delta() const { return torch::matmul(lora_B.detach(), lora_A.detach()) * lora.scale(); }

void LinearImpl::merge() {
  if (!hasLora() || merged_) return;
  torch::NoGradGuard noGrad;
  weight.copy_((weight.to(torch::kFloat) + delta()).to(weight.scalar_type()));
  merged_ = true;
}

void LinearImpl::unmerge() {
  if (!hasLora() || !merged_) return;
  torch::NoGradGuard noGrad;
  weight.copy_((weight.to(torch::kFloat) - delta()).to(weight.scalar_type()));
  merged_ = false;
}

}  // namespace q3
