// Classifier::explain: integrated gradients over the input embeddings. With x the input's embedding rows, b the
// baseline's (x with every attributed row replaced by the pad token's) and f the label's log-probability,
//   score_t = sum_h (x - b)[t, h] * (1/S) sum_s df/de[t, h] at e = b + a_s (x - b),  a_s = (s + 1/2) / S,
// the midpoint rule for the path integral, so that sum_t score_t approaches f(x) - f(b) (completeness) with an error
// that falls as 1/S^2. The S points run as a batch of S copies of the sequence, several per forward pass.
#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "classifier.h"
#include "cpu_pool.h"
#include "device.h"
#include "qwen3.h"
#include "runtime.h"

namespace q3 {

Attribution Classifier::explain(const AttributionRequest& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!base_)
    throw std::invalid_argument(
        "this classifier reads precomputed vectors (it was opened without a base): attributions need the base model "
        "that turns token ids into those vectors");
  const int64_t given = static_cast<int64_t>(r.ids.size());
  if (r.from < 0 || r.from >= r.to || r.to > given || r.label < 0 || r.label >= spec_.numLabels || r.steps < 1)
    throw std::invalid_argument("tokens [" + std::to_string(r.from) + ", " + std::to_string(r.to) + ") of " +
                                std::to_string(given) + ", label " + std::to_string(r.label) + ", " +
                                std::to_string(r.steps) + " steps: out of range");
  setTrainMode(false);
  LoadedModel& base = *base_;
  Qwen3ModelImpl& model = *base.model;
  const torch::Device dev = model.embed_tokens->weight.device();
  const DeviceScope scope(dev);
  if (optimizer_) optimizer_->flush();
  const CpuPoolScope pooled(!optimizer_);

  // lora scores the label's word after the prompt: its tokens but the last are appended (teacher forcing), and the
  // log-probability of word token j is read at position given - 1 + j.
  std::vector<int32_t> ids = r.ids;
  std::vector<int64_t> word;
  if (method_ == Method::Lora) {
    word = labelWords_.at(static_cast<size_t>(r.label));
    ids.insert(ids.end(), word.begin(), word.end() - 1);
  }
  const int64_t T = static_cast<int64_t>(ids.size());
  const int64_t span = r.to - r.from;

  torch::Tensor x, b;
  {
    torch::NoGradGuard noGrad;
    x = model.embed_tokens->forward(longTensor(std::vector<int64_t>(ids.begin(), ids.end()), dev));  // [T, hidden]
    torch::Tensor pad = model.embed_tokens->forward(longTensor({r.baselineToken}, dev));             // [1, hidden]
    b = x.clone();
    b.narrow(0, r.from, span).copy_(pad.expand({span, x.size(1)}));
  }
  const torch::Tensor delta = x - b;  // [T, hidden], zero outside [from, to)
  const int64_t H = x.size(1);

  // f for each of k rows of final hidden states [k, T, hidden]: [k] float32.
  auto f = [&](const torch::Tensor& hidden) -> torch::Tensor {
    if (method_ == Method::Lora) {
      const int64_t n = static_cast<int64_t>(word.size());
      torch::Tensor logits = base.lm().logits(hidden.narrow(1, given - 1, n)).to(torch::kFloat);  // [k, n, vocab]
      torch::Tensor targets = longTensor(word, dev).view({1, n, 1}).expand({hidden.size(0), n, 1});
      return torch::log_softmax(logits, -1).gather(2, targets).view({hidden.size(0), n}).sum(1);
    }
    torch::Tensor last = hidden.select(1, T - 1).to(torch::kFloat);  // [k, hidden]
    torch::Tensor logits = method_ == Method::Embedding ? embeddingHead_->forward(unitRows(last).to(device_))
                                                        : score_->forward(last);  // [k, labels]
    return torch::log_softmax(logits, -1).select(1, r.label);
  };

  // The path points `alphas` in one forward pass; with `gradSum`, df/de of each is added to it ([T, hidden], float64).
  auto pass = [&](const std::vector<double>& alphas, torch::Tensor* gradSum) -> std::vector<double> {
    const int64_t k = static_cast<int64_t>(alphas.size());
    // k copies of the sequence, all read from the same ids: no padding, one [k, T] batch.
    SequenceBatch copies;
    copies.ids = ids.data();
    copies.starts.assign(static_cast<size_t>(k), 0);
    copies.lengths.assign(static_cast<size_t>(k), T);
    TokenBatch tb = makeTokenBatch(copies, kPadTokenId, dev);
    torch::Tensor a = torch::tensor(alphas, torch::kDouble).to(dev, x.scalar_type()).view({k, 1, 1});
    torch::Tensor e = (b.unsqueeze(0) + a * delta.unsqueeze(0)).reshape({k * T, H});  // packed as tb: [k * T, hidden]
    if (gradSum) e.requires_grad_(true);
    torch::Tensor values = f(model.forwardEmbedded(tb, e));  // [k]
    if (gradSum) {
      // Only the embeddings' gradient is computed: no weight's .grad is touched.
      torch::Tensor g = torch::autograd::grad({values.sum()}, {e})[0];  // [k * T, hidden]
      *gradSum += g.view({k, T, H}).to(torch::kDouble).sum(0);
    }
    torch::Tensor v = values.detach().to(torch::kCPU, torch::kDouble).contiguous();
    return std::vector<double>(v.data_ptr<double>(), v.data_ptr<double>() + k);
  };

  const int64_t perPass = r.maxTokensPerPass > 0 ? std::max<int64_t>(1, r.maxTokensPerPass / T) : r.steps;
  torch::Tensor gradSum = torch::zeros({T, H}, torch::TensorOptions().dtype(torch::kDouble).device(dev));
  for (int64_t s0 = 0; s0 < r.steps; s0 += perPass) {
    std::vector<double> alphas;
    for (int64_t s = s0; s < std::min(r.steps, s0 + perPass); ++s)
      alphas.push_back((static_cast<double>(s) + 0.5) / static_cast<double>(r.steps));
    pass(alphas, &gradSum);
  }
  Attribution out;
  {
    torch::NoGradGuard noGrad;
    const std::vector<double> ends = pass({0.0, 1.0}, nullptr);
    out.baseline = ends[0];
    out.target = ends[1];
    torch::Tensor scores = (delta.to(torch::kDouble) * gradSum).sum(1).narrow(0, r.from, span).div(r.steps).cpu();
    out.scores.assign(scores.data_ptr<double>(), scores.data_ptr<double>() + span);
  }
  if (!optimizer_) releaseFreedMemory(transientBytes(std::min(perPass, r.steps) * T, base.config));
  return out;
}

}  // namespace q3
