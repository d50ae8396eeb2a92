#include "engine.h"

#include <torch/torch.h>

#include "device.h"
#include "prompt_cache.h"
#include "qwen3.h"
#include "runtime.h"
#include "safetensors.h"

namespace q3 {
Engine::Engine() : promptCache_(std::make_unique<PromptCache>()) { initRuntime(); }
Engine::~Engine() = default;

LoadedModel& Engine::model() {
  if (!model_) throw std::runtime_error("no model loaded");
  return *model_;
}

RunStats Engine::stats() const { return promptCache_->stats(); }
int64_t Engine::hiddenSize() const { return model_ ? model_->net->config.hidden_size : 0; }
int64_t Engine::vocabSize() const { return model_ ? model_->net->config.vocab_size : 0; }

LoadResult Engine::load(const LoadRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  const at::ScalarType dtype = parseDtype(request.dtype);
  const torch::Device device = parseDevice(request.device);
  TensorStore store(request.files);
  auto loaded = std::make_unique<LoadedModel>(loadQwen3(store, request.config, dtype, device, /*mapEmbeddings=*/true));
  model_ = std::move(loaded);
  promptCache_->clear();
  LoadResult r;
  r.vocabSize = model_->net->config.vocab_size;
  r.keyPrefix = model_->keyPrefix;
  r.hasLmHead = model_->net->hasLmHead();
  r.parameterBytes = model_->parameterBytes;
  return r;
}

std::vector<float> Engine::lastTokenLogits(const SequenceBatch& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  LoadedModel& m = model();
  c10::InferenceMode inference;
  std::vector<float> out;
  {
    torch::Tensor h = promptCache_->lastHidden(*m.net->model, batch);
    out = toFloatVector(m.net->logits(h));
  }
  releaseFreedMemory(transientBytes(batch.lengths, m.net->config));
  return out;
}

std::vector<float> Engine::lastTokenHidden(const SequenceBatch& batch, bool normalize) {
  std::lock_guard<std::mutex> lock(mutex_);
  LoadedModel& m = model();
  c10::InferenceMode inference;
  std::vector<float> out;
  {
    torch::Tensor h = promptCache_->lastHidden(*m.net->model, batch).to(torch::kFloat);
    if (normalize) h = h / h.norm(2, -1, true).clamp_min(1e-12);
    out = toFloatVector(h);
  }
  releaseFreedMemory(transientBytes(batch.lengths, m.net->config));
  return out;
}

}  // namespace q3
