#include "classifier.h"

#include <map>

#include "batches.h"
#include "cpu_pool.h"
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
// full: the embedding table, trained row-wise (adamw.h).
const char* kEmbedKey = "model.embed_tokens.weight";

}  // namespace

Method parseMethod(const std::string& name) {
  if (name == "lora") return Method::Lora;
  if (name == "lora-head") return Method::LoraHead;
  if (name == "full") return Method::Full;
  if (name == "embedding") return Method::Embedding;
  throw std::invalid_argument("unknown method '" + name + "' (expected lora, lora-head, full or embedding)");
}

Classifier::Classifier(const ClassifierSpec& spec)
    : spec_(spec), method_(parseMethod(spec.method)), promptCache_(std::make_unique<PromptCache>()) {
  initRuntime();
  torch::manual_seed(static_cast<uint64_t>(spec.seed));
  const DeviceScope scope(spec.model.files.empty() ? torch::Device(torch::kCPU) : parseDevice(spec.model.device));
  if (spec.numLabels < 2) throw std::invalid_argument("numLabels must be at least 2");
  const bool embedding = method_ == Method::Embedding;

  // Every method but embedding runs a base checkpoint; embedding runs its Qwen3-Embedding base when the spec names
  // one (prediction from token ids), else it reads precomputed vectors (training). Training never maps embed_tokens:
  // full trains it.
  if (!(embedding && spec.model.files.empty())) {
    const at::ScalarType dtype = parseDtype(spec.model.dtype);
    const torch::Device device = parseDevice(spec.model.device);
    if (method_ == Method::Full && spec.training && dtype != torch::kFloat)
      throw std::invalid_argument("method 'full' trains every weight and needs dtype float32");
    TensorStore store(spec.model.files);
    base_ = std::make_unique<LoadedModel>(loadQwen3(
        store, spec.model.config, dtype, device, spec.training ? EmbeddingMapping::Never : spec.model.mapEmbeddings));
    if (!embedding) device_ = device;
  }

  if (embedding) {
    if (spec.featureDim <= 0) throw std::invalid_argument("embedding method needs featureDim");
    if (base_ && base_->config.hidden_size != spec.featureDim)
      throw std::invalid_argument("the head reads " + std::to_string(spec.featureDim) +
                                  "-wide vectors but the embedding model's hidden size is " +
                                  std::to_string(base_->config.hidden_size));
    buildEmbeddingHead();
  } else {
    LoadedModel& base = *base_;
    if (method_ == Method::Lora && !base.hasLmHead())
      throw std::runtime_error(
          "method 'lora' needs a causal LM with an lm_head; this checkpoint is an embedding model");
    base.model->gradient_checkpointing = spec.gradientCheckpointing;
    if (method_ == Method::Lora || method_ == Method::LoraHead) {
      // Only the decoder is adapted (PEFT's default targets exclude lm_head too); its keys sit under `model`.
      if (injectLora(*base.model, spec.targetModules, spec.lora) == 0)
        throw std::invalid_argument("no module matched the LoRA target modules");
      for (auto& p : loraParameters(*base.model, "model.")) trainable_.emplace_back(p.key, p.tensor);
    }
    if (method_ == Method::Full) {
      for (auto& [name, tensor] : base.causalLMParameters()) {
        tensor.requires_grad_(true);
        trainable_.emplace_back(name, tensor);
      }
      base.model->embed_tokens->sparseGrad = true;
    }
    if (method_ == Method::LoraHead || method_ == Method::Full) {
      // The head stays float32 (mixed precision: bf16 activations are upcast before it).
      score_ = torch::nn::Linear(torch::nn::LinearOptions(spec.model.config.hidden_size, spec.numLabels).bias(false));
      {
        torch::NoGradGuard noGrad;
        score_->weight.normal_(0.0, 0.02);  // HF initializer_range
      }
      score_->to(device_);
      trainable_.emplace_back(method_ == Method::Full ? "score.weight" : peftKey("score.weight"), score_->weight);
    }
    if (method_ == Method::Lora) {
      labelWords_ = splitLabelWords(spec.labelTokens, spec.labelTokenCounts, spec.numLabels);
      if (oneTokenEach(labelWords_)) labelRows_ = longTensor(spec.labelTokens, device_);
    }
  }
  if (spec.training) {
    std::vector<std::string> rowWise;
    if (method_ == Method::Full) rowWise.push_back(kEmbedKey);
    optimizer_ = std::make_unique<AdamW>(trainable_, spec.adam, rowWise);
  }
  setTrainMode(false);
}

void Classifier::buildEmbeddingHead() {
  const int64_t in = spec_.featureDim, labels = spec_.numLabels;
  if (spec_.head == "mlp") {
    // The old script's head: Linear(hidden, 256) - ReLU - Dropout(0.3) - Linear(256, labels).
    embeddingHead_ = torch::nn::Sequential(torch::nn::Linear(in, 256), torch::nn::ReLU(),
                                           torch::nn::Dropout(spec_.headDropout), torch::nn::Linear(256, labels));
  } else if (spec_.head == "linear") {
    embeddingHead_ = torch::nn::Sequential(torch::nn::Linear(torch::nn::LinearOptions(in, labels)));
  } else {
    throw std::invalid_argument("unknown head '" + spec_.head + "' (expected linear or mlp)");
  }
  for (const auto& p : embeddingHead_->named_parameters()) trainable_.emplace_back("classifier." + p.key(), p.value());
}

Classifier::~Classifier() = default;

void Classifier::setTrainMode(bool training) {
  if (base_) base_->root().train(training && method_ != Method::Embedding);
  if (score_) score_->train(training);
  if (embeddingHead_) embeddingHead_->train(training);
}

torch::Tensor Classifier::embeddings(const SequenceBatch& sequences) {
  // As Engine::lastTokenHidden(normalize) computes the vectors training was given (through Qwen3Model.embed): the
  // same pooling and float32 normalisation on the base's device, then to the CPU where the head lives.
  torch::Tensor h = promptCache_->lastHidden(*base_->model, sequences).to(torch::kFloat);  // [B, hidden]
  return unitRows(h).to(device_);
}

torch::Tensor Classifier::forwardLogits(const ClassifierBatch& batch, bool training, torch::Tensor* targets,
                                        int64_t* tokens) {
  if (method_ == Method::Embedding) {
    torch::Tensor x;
    if (batch.features.empty()) {
      if (!base_)
        throw std::invalid_argument("this classifier reads precomputed vectors (it was opened without a base)");
      x = embeddings(batch.sequences);
      if (tokens) *tokens = batch.sequences.tokens();
    } else {
      if (batch.rows <= 0 || batch.features.size() != static_cast<size_t>(batch.rows * spec_.featureDim))
        throw std::invalid_argument("features do not match rows x featureDim");
      x = torch::from_blob(const_cast<float*>(batch.features.data()), {batch.rows, spec_.featureDim}, torch::kFloat)
              .to(device_);
      if (tokens) *tokens = batch.rows;
    }
    if (targets) *targets = longTensor(batch.labels, device_);
    return embeddingHead_->forward(x);
  }
  LoadedModel& base = *base_;
  if (!training) {
    // Label words of several tokens: summed log-probs, whose softmax is the class probabilities (label_words.h).
    if (method_ == Method::Lora && !labelRows_.defined())
      return labelWordScores(base.lm(), *promptCache_, batch.sequences, labelWords_);  // [B, labels]
    torch::Tensor last = promptCache_->lastHidden(*base.model, batch.sequences);       // [B, hidden]
    if (method_ == Method::Lora) {
      return base.lm().logitsFor(last, labelRows_).to(torch::kFloat);  // [B, labels]
    }
    return score_->forward(last.to(torch::kFloat));  // [B, labels]
  }
  TokenBatch tb = makeTokenBatch(batch.sequences, kPadTokenId, device_);
  if (tokens) *tokens = tb.tokens;
  // The embedding rows this forward reads get their pending weight decay first (full; nothing to do otherwise).
  if (optimizer_) optimizer_->touchRows(kEmbedKey, tb.packedIds);
  torch::Tensor hidden = base.model->forward(tb);  // [B, T, hidden]
  if (method_ == Method::Lora) {
    // Each sequence is prompt + label token: the logits before the label must give the label token, the logits at
    // the label must give the end token. Only these answer positions touch lm_head.
    if (!labelRows_.defined()) {
      // Label words of several tokens: each token of the gold word, then the end token (answerSlots).
      std::vector<int64_t> slots, answerTargets;
      answerSlots(batch.sequences, tb.ids.size(1), batch.labels, labelWords_, spec_.endToken, &slots, &answerTargets);
      if (targets) *targets = longTensor(answerTargets, device_);
      torch::Tensor h = hidden.reshape({-1, hidden.size(-1)}).index_select(0, longTensor(slots, device_));
      return base.lm().logits(h).to(torch::kFloat);  // [answer tokens, vocab]
    }
    for (int64_t len : batch.sequences.lengths)
      if (len < 2) throw std::invalid_argument("a lora training sequence needs the prompt and the label token");
    torch::Tensor answerPos = tb.last - 1;
    torch::Tensor h = torch::cat({rowsAt(hidden, answerPos), rowsAt(hidden, tb.last)}, 0);  // [2B, hidden]
    if (targets) {
      torch::Tensor labelTokens = rowsAt(tb.ids, tb.last);
      *targets = torch::cat({labelTokens, torch::full_like(labelTokens, spec_.endToken)}, 0);
    }
    return base.lm().logits(h).to(torch::kFloat);  // [2B, vocab]
  }
  if (targets) *targets = longTensor(batch.labels, device_);
  return score_->forward(rowsAt(hidden, tb.last).to(torch::kFloat));  // [B, labels]
}

LossResult Classifier::accumulate(const ClassifierBatch& batch, double lossScale) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!optimizer_) throw std::runtime_error("this classifier was opened for prediction only");
  const DeviceScope scope(device_);
  setTrainMode(true);
  torch::Tensor targets;
  LossResult r;
  torch::Tensor logits = forwardLogits(batch, true, &targets, &r.tokens);
  torch::Tensor loss = torch::nn::functional::cross_entropy(logits, targets);
  (loss * lossScale).backward();
  r.loss = loss.item<double>();  // the step's one host sync: the loss is reported
  r.terms = targets.size(0);
  setTrainMode(false);
  return r;
}

double Classifier::step(double lr, double maxGradNorm) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!optimizer_) throw std::runtime_error("this classifier was opened for prediction only");
  promptCache_->clear();
  const DeviceScope scope(device_);
  return optimizer_->step(lr, maxGradNorm);
}

std::vector<float> Classifier::predict(const ClassifierBatch& batch, const BatchLimits& limits) {
  std::lock_guard<std::mutex> lock(mutex_);
  setTrainMode(false);
  const DeviceScope scope(base_ ? base_->model->embed_tokens->weight.device() : device_);
  if (optimizer_) optimizer_->flush();
  // Serving pools its memory; a training process's evaluation stays on glibc with its steps.
  const CpuPoolScope pooled(!optimizer_);
  c10::InferenceMode inference;
  auto probabilities = [&](const ClassifierBatch& b) {
    return torch::softmax(forwardLogits(b, false, nullptr, nullptr), -1);
  };
  PassRows rows;
  if (!batch.features.empty()) {
    rows.values = toFloatVector(probabilities(batch));
  } else {
    rows = runForwardPasses(batch.sequences, limits, spec_.numLabels, [&](const SequenceBatch& pass) {
      ClassifierBatch part;
      part.sequences = pass;
      return probabilities(part);
    });
  }
  // Serving; a training process reuses the memory next step.
  if (!optimizer_ && base_) releaseFreedMemory(transientBytes(rows.largestPassTokens, base_->config));
  return std::move(rows.values);
}

void Classifier::saveWeights(const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (optimizer_) optimizer_->flush();
  writeSafetensors(file, trainable_, {{"format", "pt"}});
}

void Classifier::loadWeights(const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  SafetensorsFile f(file);
  promptCache_->clear();
  // Pending weight decay belongs to the values being replaced (and to any tensor the file does not hold).
  if (optimizer_) optimizer_->flush();
  std::map<std::string, bool> known;
  std::vector<std::string> nonFinite;
  torch::NoGradGuard noGrad;
  for (auto& [name, tensor] : trainable_) {
    known[name] = true;
    // A full run may ship only its head (the base weights then come from the checkpoint it was opened with).
    if (!f.has(name) && method_ == Method::Full && name != "score.weight") continue;
    if (!f.has(name)) throw std::runtime_error(file + ": missing tensor '" + name + "'");
    // Shape checked from the header, before the stored tensor is allocated.
    const std::vector<int64_t>& stored = f.entries().at(name).shape;
    if (stored != tensor.sizes().vec())
      throw std::runtime_error(file + ": tensor '" + name + "' has shape " + shapeString(stored) +
                               " but this model expects " + shapeString(tensor.sizes().vec()));
    torch::Tensor t = f.read(name);
    // A run saved by a training that diverged would load and then answer every text with non-finite probabilities
    // (a server said ready, then 500s). Checked here, where the tensors are in memory: a full 0.6B run is 1.2 GB.
    if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>()) nonFinite.push_back(name);
    if (nonFinite.empty()) tensor.copy_(t.to(tensor.device(), tensor.scalar_type()));
  }
  if (!nonFinite.empty()) {
    std::string names;
    for (size_t i = 0; i < nonFinite.size() && i < 3; ++i) names += (i ? ", " : "") + nonFinite[i];
    if (nonFinite.size() > 3) names += ", ... " + std::to_string(nonFinite.size()) + " tensors";
    throw std::runtime_error(file + " holds NaN or infinite values (" + names +
                             "), e.g. saved by a training run that diverged: train it again (with a lower "
                             "--learning-rate), or use another run");
  }
  if (method_ != Method::Full) {
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
  optimizer_->flush();  // the weights saved beside this state hold no pending decay either
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

void Classifier::reduceGradients(const std::function<std::vector<torch::Tensor>(std::vector<torch::Tensor>)>& reduce) {
  std::lock_guard<std::mutex> lock(mutex_);
  const DeviceScope scope(device_);
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> grads;
  for (auto& [name, t] : trainable_) {
    if (!t.grad().defined()) t.mutable_grad() = torch::zeros_like(t);
    grads.push_back(t.grad());
  }
  std::vector<torch::Tensor> reduced = reduce(std::move(grads));
  for (size_t i = 0; i < trainable_.size(); ++i)
    if (!reduced[i].is_same(trainable_[i].second.grad())) trainable_[i].second.mutable_grad() = reduced[i];
}

std::vector<std::pair<std::string, torch::Tensor>> Classifier::gradients() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, t] : trainable_)
    if (t.grad().defined()) {
      const torch::Tensor& g = t.grad();
      out.emplace_back(name, (g.is_sparse() ? g.to_dense() : g).to(torch::kCPU, torch::kFloat).contiguous());
    }
  return out;
}

void Classifier::merge() {
  std::lock_guard<std::mutex> lock(mutex_);
  promptCache_->clear();
  if (base_) mergeLora(*base_->model);
}

void Classifier::unmerge() {
  std::lock_guard<std::mutex> lock(mutex_);
  promptCache_->clear();
  if (base_) unmergeLora(*base_->model);
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
