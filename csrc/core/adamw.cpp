#include "adamw.h"

#include <cmath>
#include <map>

namespace q3 {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    expAvg_.push_back(torch::zeros_like(p.second, torch::MemoryFormat::Preserve));
    expAvgSq_.push_back(torch::zeros_like(p.second, torch::MemoryFormat::Preserve));
  }
}

void AdamW::zeroGrad() {
  for (auto& p : params_) {
    if (p.second.grad().defined()) p.second.mutable_grad().reset();
  }
}

double AdamW::step(double lr, double maxGradNorm) {
  torch::NoGradGuard noGrad;
  // Global L2 norm over every gradient, as torch.nn.utils.clip_grad_norm_: per-tensor norms in float32, one host
  // sync for all of them.
  std::vector<torch::Tensor> norms;
  for (auto& p : params_) {
    if (p.second.grad().defined()) norms.push_back(p.second.grad().to(torch::kFloat).norm(2));
  }
  const double norm = norms.empty() ? 0.0 : torch::stack(norms).norm(2).item<double>();
  const double clip = (maxGradNorm > 0 && norm > maxGradNorm) ? maxGradNorm / (norm + 1e-6) : 1.0;
  ++step_;
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  const double stepSize = lr / bc1;
  const double bc2Sqrt = std::sqrt(bc2);
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i].second;
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.grad();
    if (clip != 1.0) g = g * clip;
    p.mul_(1.0 - lr * options_.weightDecay);
    expAvg_[i].mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    expAvgSq_[i].mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    torch::Tensor denom = (expAvgSq_[i].sqrt() / bc2Sqrt).add_(options_.eps);
    p.addcdiv_(expAvg_[i], denom, -stepSize);
  }
  zeroGrad();
  return norm;
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(params_[i].first + ".exp_avg", expAvg_[i]);
    out.emplace_back(params_[i].first + ".exp_avg_sq", expAvgSq_[i]);
  }
  out.emplace_back("__step__", torch::tensor({step_}, torch::kLong));
  return out;
}

void AdamW::loadState(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  std::map<std::string, torch::Tensor> byName(state.begin(), state.end());
  torch::NoGradGuard noGrad;
  auto take = [&](const std::string& key, torch::Tensor& dst) {
    auto it = byName.find(key);
    if (it == byName.end()) throw std::runtime_error("optimizer state has no '" + key + "'");
    if (it->second.sizes() != dst.sizes())
      throw std::runtime_error("optimizer state '" + key + "' has the wrong shape");
    dst.copy_(it->second);
  };
  for (size_t i = 0; i < params_.size(); ++i) {
    take(params_[i].first + ".exp_avg", expAvg_[i]);
    take(params_[i].first + ".exp_avg_sq", expAvgSq_[i]);
  }
  auto it = byName.find("__step__");
  if (it == byName.end()) throw std::runtime_error("optimizer state has no '__step__'");
  step_ = it->second.item<int64_t>();
}

}  // namespace q3
