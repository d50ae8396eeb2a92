#include "engine.h"

#include <torch/torch.h>

#include "batches.h"
#include "cpu_pool.h"
#include "device.h"
#include "qwen3.h"
#include "runtime.h"
#include "safetensors.h"

namespace q3 {
// Constructed on the JS thread: only the thread count is chosen here; load() and every later call run on the compute
// thread, which applies it.
Engine::Engine() : promptCache_(std::make_unique<PromptCache>()) { chooseThreads(); }
Engine::~Engine() = default;

LoadedModel& Engine::model() {
  if (!model_) throw std::runtime_error("no model loaded");
  return *model_;
}

RunStats Engine::stats() const { return promptCache_->stats(); }

LoadResult Engine::load(const LoadRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  const at::ScalarType dtype = parseDtype(request.dtype);
  const torch::Device device = parseDevice(request.device);
  const DeviceScope scope(device);
  TensorStore store(request.files);
  model_ = std::make_unique<LoadedModel>(loadQwen3(store, request.config, dtype, device, request.mapEmbeddings));
  promptCache_->clear();
  LoadResult r;
  r.vocabSize = model_->config.vocab_size;
  r.keyPrefix = model_->keyPrefix;
  r.hasLmHead = model_->hasLmHead();
  r.parameterBytes = model_->parameterBytes;
  return r;
}

std::vector<float> Engine::lastTokenLogits(const SequenceBatch& batch, const BatchLimits& limits) {
  std::lock_guard<std::mutex> lock(mutex_);
  LoadedModel& m = model();
  Qwen3ForCausalLMImpl& lm = m.lm();
  const DeviceScope scope(m.model->embed_tokens->weight.device());
  c10::InferenceMode inference;
  const CpuPoolScope pooled;
  PassRows rows = runForwardPasses(batch, limits, m.config.vocab_size, [&](const SequenceBatch& pass) {
    return lm.logits(promptCache_->lastHidden(*m.model, pass));
  });
  releaseFreedMemory(transientBytes(rows.largestPassTokens, m.config));
  return std::move(rows.values);
}

std::vector<float> Engine::lastTokenHidden(const SequenceBatch& batch, bool normalize, const BatchLimits& limits) {
  std::lock_guard<std::mutex> lock(mutex_);
  LoadedModel& m = model();
  const DeviceScope scope(m.model->embed_tokens->weight.device());
  c10::InferenceMode inference;
  const CpuPoolScope pooled;
  PassRows rows = runForwardPasses(batch, limits, m.config.hidden_size, [&](const SequenceBatch& pass) {
    torch::Tensor h = promptCache_->lastHidden(*m.model, pass).to(torch::kFloat);
    return normalize ? unitRows(h) : h;
  });
  releaseFreedMemory(transientBytes(rows.largestPassTokens, m.config));
  return std::move(rows.values);
}

}  // namespace q3
