#include "classifier.h"

#include <map>

#include "device.h"
#include "lora.h"
#include "prompt_cache.h"
#include "qwen3.h"
#include "runtime.h"
#include "safetensors.h"

namespace q3 {
namespace {

const char* kRngCpu = "__rng_cpu__";
const char* kRngCuda = "__rng_cuda__";

}  // namespace

Classifier::Classifier(const ClassifierSpec& spec) : spec_(spec), promptCache_(std::make_unique<PromptCache>()) {
  initRuntime();
  torch::manual_seed(static_cast<uint64_t>(spec.seed));
  const std::string& m = spec.method;
  if (m != "lora" && m != "lora-head" && m != "full" && m != "embedding")
    throw std::invalid_argument("unknown method '" + m + "' (expected lora, lora-head, full or embedding)");
  if (spec.numLabels < 2) throw std::invalid_argument("numLabels must be at least 2");

  if (m == "embedding") {
    if (spec.featureDim <= 0) throw std::invalid_argument("embedding method needs featureDim");
    auto opts = torch::nn::LinearOptions(spec.featureDim, spec.numLabels);
    if (spec.head == "mlp") {
      // The old script's head: Linear(hidden, 256) - ReLU - Dropout(0.3) - Linear(256, labels).
      embeddingHead_ = torch::nn::Sequential(torch::nn::Linear(spec.featureDim, 256), torch::nn::ReLU(),
                                             torch::nn::Dropout(spec.headDropout),
                                             torch::nn::Linear(256, spec.numLabels));
    } else if (spec.head == "linear") {
      embeddingHead_ = torch::nn::Sequential(torch::nn::Linear(opts));
    } else {
      throw std::invalid_argument("unknown head '" + spec.head + "' (expected linear or mlp)");
    }
    for (const auto& p : embeddingHead_->named_parameters()) trainable_.emplace_back("classifier." + p.key(), p.value());
  } else {
    const at::ScalarType dtype = parseDtype(spec.model.dtype);
    device_ = parseDevice(spec.model.device);
    if (m == "full" && spec.training && dtype != torch::kFloat)
      throw std::invalid_argument("method 'full' trains every weight and needs dtype float32");
    TensorStore store(spec.model.files);
    base_ = std::make_unique<LoadedModel>(loadQwen3(store, spec.model.config, dtype, device_, /*mapEmbeddings=*/!spec.training));
    auto& net = base_->net;
    if (base_->net->headless && m == "lora")
      throw std::runtime_error("method 'lora' needs a causal LM with an lm_head; this checkpoint is an embedding model");
    net->model->gradient_checkpointing = spec.gradientCheckpointing;
    if (m == "lora" || m == "lora-head") {
      if (injectLora(*net, spec.targetModules, spec.lora) == 0)
        throw std::invalid_argument("no module matched the LoRA target modules");
      for (auto& p : loraParameters(*net)) trainable_.emplace_back(p.key, p.tensor);
    }
    if (m == "full") {
      for (auto& p : net->named_parameters()) {
        p.value().requires_grad_(true);
        trainable_.emplace_back(p.key(), p.value());
      }
    }
    if (m == "lora-head" || m == "full") {
      // The head stays float32 (mixed precision: bf16 activations are upcast before it).
      score_ = torch::nn::Linear(torch::nn::LinearOptions(spec.model.config.hidden_size, spec.numLabels).bias(false));
      {
        torch::NoGradGuard noGrad;
        score_->weight.normal_(0.0, 0.02);  // HF initializer_range
      }
      score_->to(device_);
      trainable_.emplace_back(m == "full" ? "score.weight" : peftKey("score.weight"), score_->weight);
    }
    if (m == "lora" && spec.labelTokens.size() != static_cast<size_t>(spec.numLabels))
      throw std::invalid_argument("method 'lora' needs one label token per label");
  }
  if (spec.training) optimizer_ = std::make_unique<AdamW>(trainable_, spec.adam);
  setTrainMode(false);
}

Classifier::~Classifier() = default;

void Classifier::setTrainMode(bool training) {
  if (base_) base_->net->train(training);
  if (score_) score_->train(training);
  if (embeddingHead_) embeddingHead_->train(training);
}

torch::Tensor Classifier::forwardLogits(const ClassifierBatch& batch, bool training, torch::Tensor* targets,
                                        int64_t* tokens) {
  const std::string& m = spec_.method;
  if (m == "embedding") {
    if (batch.rows <= 0 || batch.features.size() != static_cast<size_t>(batch.rows * spec_.featureDim))
      throw std::invalid_argument("features do not match rows x featureDim");
    torch::Tensor x = torch::from_blob(const_cast<float*>(batch.features.data()), {batch.rows, spec_.featureDim},
                                       torch::kFloat)
                          .to(device_);
    if (targets) *targets = torch::tensor(batch.labels, torch::kLong).to(device_);
    if (tokens) *tokens = batch.rows;
    return embeddingHead_->forward(x);
  }
  auto& net = base_->net;
  if (!training) {
    torch::Tensor last = promptCache_->lastHidden(*net->model, batch.sequences);  // [B, hidden]
    if (m == "lora") {
      torch::Tensor rows = torch::tensor(spec_.labelTokens, torch::kLong).to(device_);
      return net->logitsFor(last, rows).to(torch::kFloat);  // [B, labels]
    }
    return score_->forward(last.to(torch::kFloat));  // [B, labels]
  }
  TokenBatch tb = makeTokenBatch(batch.sequences.ids.data(), batch.sequences.lengths, batch.sequences.padLeft,
                                 kPadTokenId, device_);
  if (tokens) *tokens = tb.tokens;
  torch::Tensor hidden = net->model->forward(tb);  // [B, T, hidden]
  if (m == "lora") {
    // Each sequence is prompt + label token: the logits before the label must give the label token, the logits at
    // the label must give the end token. Only these answer positions touch lm_head.
    for (int64_t len : batch.sequences.lengths)
      if (len < 2) throw std::invalid_argument("a lora training sequence needs the prompt and the label token");
    torch::Tensor answerPos = tb.last - 1;
    torch::Tensor h = torch::cat({rowsAt(hidden, answerPos), rowsAt(hidden, tb.last)}, 0);  // [2B, hidden]
    if (targets) {
      torch::Tensor labelTokens = rowsAt(tb.ids, tb.last);
      *targets = torch::cat({labelTokens, torch::full_like(labelTokens, spec_.endToken)}, 0);
    }
    return net->logits(h).to(torch::kFloat);  // [2B, vocab]
  }
  if (targets) *targets = torch::tensor(batch.labels, torch::kLong).to(device_);
  return score_->forward(rowsAt(hidden, tb.last).to(torch::kFloat));  // [B, labels]
}

LossResult Classifier::accumulate(const ClassifierBatch& batch, double lossScale) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!optimizer_) throw std::runtime_error("this classifier was opened for prediction only");
  setTrainMode(true);
  torch::Tensor targets;
  LossResult r;
  torch::Tensor logits = forwardLogits(batch, true, &targets, &r.tokens);
  torch::Tensor loss = torch::nn::functional::cross_entropy(logits, targets);
  (loss * lossScale).backward();
  r.loss = loss.item<double>();
  r.terms = targets.size(0);
  setTrainMode(false);
  return r;
}

double Classifier::step(double lr, double maxGradNorm) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!optimizer_) throw std::runtime_error("this classifier was opened for prediction only");
  promptCache_->clear();
  return optimizer_->step(lr, maxGradNorm);
}

std::vector<float> Classifier::predict(const ClassifierBatch& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  setTrainMode(false);
  std::vector<float> out;
  {
    c10::InferenceMode inference;
    torch::Tensor logits = forwardLogits(batch, false, nullptr, nullptr);
    out = toFloatVector(torch::softmax(logits, -1));
  }
  // Serving; a training process reuses the memory next step.
  if (!optimizer_ && base_) releaseFreedMemory(transientBytes(batch.sequences.lengths, base_->net->config));
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> Classifier::trainableWeights() { return trainable_; }

void Classifier::saveWeights(const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  writeSafetensors(file, trainable_, {{"format", "pt"}});
}

void Classifier::loadWeights(const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  SafetensorsFile f(file);
  promptCache_->clear();
  std::map<std::string, bool> known;
  torch::NoGradGuard noGrad;
  for (auto& [name, tensor] : trainable_) {
    known[name] = true;
    // A full run may ship only its head (the base weights then come from the checkpoint it was opened with).
    if (!f.has(name) && spec_.method == "full" && name != "score.weight") continue;
    if (!f.has(name)) throw std::runtime_error(file + ": missing tensor '" + name + "'");
    torch::Tensor t = f.read(name);
    if (t.sizes() != tensor.sizes())
      throw std::runtime_error(file + ": tensor '" + name + "' has shape " + shapeString(t.sizes().vec()) +
                               " but this model expects " + shapeString(tensor.sizes().vec()));
    tensor.copy_(t.to(tensor.device(), tensor.scalar_type()));
  }
  if (spec_.method != "full") {
    std::string unknown;
    for (const auto& kv : f.entries())
      if (!known.count(kv.first)) unknown += (unknown.empty() ? "" : ", ") + kv.first;
    if (!unknown.empty())
      throw std::runtime_error(file + ": tensors this model has no place for (different target modules?): " + unknown);
  }
}

void Classifier::saveTrainingState(const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!optimizer_) throw std::runtime_error("this classifier was opened for prediction only");
  auto tensors = optimizer_->state();
  tensors.emplace_back(kRngCpu, at::globalContext().defaultGenerator(torch::kCPU).get_state());
  if (device_.is_cuda()) tensors.emplace_back(kRngCuda, at::globalContext().defaultGenerator(device_).get_state());
  writeSafetensors(file, tensors, {{"format", "qwen3-native-trainer-state"}});
}

void Classifier::loadTrainingState(const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!optimizer_) throw std::runtime_error("this classifier was opened for prediction only");
  SafetensorsFile f(file);
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& kv : f.entries()) state.emplace_back(kv.first, f.read(kv.first).to(device_));
  optimizer_->loadState(state);
  // Generator is a handle: a copy sets the shared default generator's state.
  if (f.has(kRngCpu)) {
    at::Generator cpu = at::globalContext().defaultGenerator(torch::kCPU);
    cpu.set_state(f.read(kRngCpu));
  }
  if (device_.is_cuda() && f.has(kRngCuda)) {
    at::Generator cuda = at::globalContext().defaultGenerator(device_);
    cuda.set_state(f.read(kRngCuda));
  }
}

std::vector<std::pair<std::string, torch::Tensor>> Classifier::gradients() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, t] : trainable_)
    if (t.grad().defined()) out.emplace_back(name, t.grad().to(torch::kCPU, torch::kFloat).contiguous());
  return out;
}

void Classifier::merge() {
  std::lock_guard<std::mutex> lock(mutex_);
  promptCache_->clear();
  if (base_) mergeLora(*base_->net);
}

void Classifier::unmerge() {
  std::lock_guard<std::mutex> lock(mutex_);
  promptCache_->clear();
  if (base_) unmergeLora(*base_->net);
}

RunStats Classifier::stats() const { return promptCache_->stats(); }

int64_t Classifier::trainableParameterCount() const {
  int64_t n = 0;
  for (const auto& p : trainable_) n += p.second.numel();
  return n;
}

int64_t Classifier::parameterBytes() const {
  int64_t n = base_ ? base_->parameterBytes : 0;
  for (const auto& p : trainable_) n += p.second.numel() * p.second.element_size();
  return n;
}

}  // namespace q3
