#include "adamw.h"

#include <cmath>
#include <map>

namespace q3 {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options,
             const std::vector<std::string>& rowWise)
    : params_(std::move(params)), options_(options) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const torch::Tensor& p = params_[i].second;
    expAvg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    expAvgSq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    for (const std::string& name : rowWise) {
      if (name != params_[i].first) continue;
      if (p.dim() != 2) throw std::invalid_argument("row-wise AdamW parameter '" + name + "' is not a matrix");
      RowWise r;
      r.param = i;
      r.position = torch::full({p.size(0)}, -1, torch::TensorOptions().dtype(torch::kLong).device(p.device()));
      r.active = torch::empty({0}, r.position.options());
      rowWise_.push_back(r);
    }
  }
}

AdamW::RowWise* AdamW::rowWise(size_t param) {
  for (auto& r : rowWise_)
    if (r.param == param) return &r;
  return nullptr;
}

void AdamW::zeroGrad() {
  for (auto& p : params_) {
    if (p.second.grad().defined()) p.second.mutable_grad().reset();
  }
}

void AdamW::activate(RowWise& r, const torch::Tensor& rows) {
  torch::NoGradGuard noGrad;
  torch::Tensor ids = std::get<0>(at::_unique(rows.reshape({-1}).to(r.position.device(), torch::kLong), false));
  torch::Tensor fresh = ids.masked_select(r.position.index_select(0, ids).lt(0));
  const int64_t n = fresh.numel();
  if (n == 0) return;
  torch::Tensor& p = params_[r.param].second;
  if (r.pendingDecay != 1.0) p.index_copy_(0, fresh, p.index_select(0, fresh).mul_(r.pendingDecay));
  const int64_t count = r.active.numel();
  r.position.index_copy_(0, fresh, torch::arange(count, count + n, r.position.options()));
  r.active = torch::cat({r.active, fresh});
}

void AdamW::touchRows(const std::string& name, const torch::Tensor& rows) {
  for (auto& r : rowWise_)
    if (params_[r.param].first == name) activate(r, rows);
}

void AdamW::flush() {
  torch::NoGradGuard noGrad;
  for (auto& r : rowWise_) {
    if (r.pendingDecay == 1.0) continue;
    torch::Tensor& p = params_[r.param].second;
    // Every row but the active ones: scale all, then put the active rows back (one pass over the table).
    torch::Tensor keep = p.index_select(0, r.active);
    p.mul_(r.pendingDecay);
    p.index_copy_(0, r.active, keep);
    r.pendingDecay = 1.0;
  }
}

void AdamW::update(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, double lr,
                   double stepSize, double bc2Sqrt) const {
  p.mul_(1.0 - lr * options_.weightDecay);
  m.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
  v.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
  torch::Tensor denom = (v.sqrt() / bc2Sqrt).add_(options_.eps);
  p.addcdiv_(m, denom, -stepSize);
}

void AdamW::updateRowWise(RowWise& r, const torch::Tensor& grad, double lr, double stepSize, double bc2Sqrt) {
  torch::Tensor& p = params_[r.param].second;
  torch::Tensor& m = expAvg_[r.param];
  torch::Tensor& v = expAvgSq_[r.param];
  if (!grad.is_sparse()) {
    // A dense gradient (the table also used densely): the plain update on every row, all of them active after it.
    flush();
    update(p, grad, m, v, lr, stepSize, bc2Sqrt);
    activate(r, torch::arange(p.size(0), r.position.options()));
    return;
  }
  // The batch's rows were activated by the forward that read them; a row with a gradient but no touch is activated
  // here (its pending decay applied now).
  torch::Tensor rows = grad._indices()[0];
  activate(r, rows);
  torch::Tensor g = torch::zeros({r.active.numel(), p.size(1)}, grad._values().options());
  g.index_add_(0, r.position.index_select(0, rows), grad._values());
  torch::Tensor pa = p.index_select(0, r.active);
  torch::Tensor ma = m.index_select(0, r.active);
  torch::Tensor va = v.index_select(0, r.active);
  update(pa, g, ma, va, lr, stepSize, bc2Sqrt);
  p.index_copy_(0, r.active, pa);
  m.index_copy_(0, r.active, ma);
  v.index_copy_(0, r.active, va);
  // Inactive rows have zero moments: their whole update is the decay, kept for later.
  r.pendingDecay *= 1.0 - lr * options_.weightDecay;
}

double AdamW::step(double lr, double maxGradNorm) {
  torch::NoGradGuard noGrad;
  // Sparse gradients (row-wise parameters) summed per row once, for the norm and the update.
  std::vector<torch::Tensor> grads(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const torch::Tensor& g = params_[i].second.grad();
    if (g.defined()) grads[i] = g.is_sparse() ? g.coalesce() : g;
  }
  // Global L2 norm over every gradient, as torch.nn.utils.clip_grad_norm_: per-tensor norms in float32, one host
  // sync for all of them.
  std::vector<torch::Tensor> norms;
  for (const auto& g : grads) {
    if (g.defined()) norms.push_back((g.is_sparse() ? g._values() : g).to(torch::kFloat).norm(2));
  }
  const double norm = norms.empty() ? 0.0 : torch::stack(norms).norm(2).item<double>();
  const double clip = (maxGradNorm > 0 && norm > maxGradNorm) ? maxGradNorm / (norm + 1e-6) : 1.0;
  ++step_;
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  const double stepSize = lr / bc1;
  const double bc2Sqrt = std::sqrt(bc2);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!grads[i].defined()) continue;
    torch::Tensor g = grads[i];
    if (clip != 1.0) g = g * clip;
    if (RowWise* r = rowWise(i)) {
      updateRowWise(*r, g, lr, stepSize, bc2Sqrt);
    } else {
      update(params_[i].second, g, expAvg_[i], expAvgSq_[i], lr, stepSize, bc2Sqrt);
    }
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
  // Which rows were active is not saved: a row with zero moments gets the same update active or not (the decay
  // alone), so the rows with moments are the active set. The weights were saved flushed: nothing is pending.
  for (auto& r : rowWise_) {
    r.position.fill_(-1);
    r.active = torch::empty({0}, r.position.options());
    r.pendingDecay = 1.0;
    torch::Tensor used = expAvgSq_[r.param].ne(0).any(1).logical_or(expAvg_[r.param].ne(0).any(1));
    activate(r, used.nonzero().reshape({-1}));
  }
}

}  // namespace q3
