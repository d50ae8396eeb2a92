// A sentiment classifier over Qwen3, for training and prediction, in four methods:
//   lora       LoRA on the causal LM; the answer word (正面/负面, or any label words: label_words.h) after a prompt
//   lora-head  LoRA plus score = Linear(hidden, labels, bias=False) at the last real token (Qwen3ForSequenceClassification)
//   full       every weight trainable plus the score head (float32)
//   embedding  a head (linear or MLP) over frozen Qwen3-Embedding vectors: precomputed ones (training caches them on
//              disk), or those of a Qwen3-Embedding base this classifier loads itself (prediction from token ids)
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "adamw.h"
#include "attribution.h"
#include "label_words.h"
#include "linear.h"
#include "prompt_cache.h"
#include "qwen3.h"
#include "requests.h"

namespace q3 {

enum class Method { Lora, LoraHead, Full, Embedding };

// The TypeScript names: "lora" | "lora-head" | "full" | "embedding".
Method parseMethod(const std::string& name);

struct ClassifierSpec {
  std::string method;  // "lora" | "lora-head" | "full" | "embedding"
  LoadRequest model;   // base checkpoint; for embedding, the Qwen3-Embedding base, or no files for precomputed vectors
  bool training = true;
  LoraSpec lora;
  std::vector<std::string> targetModules;
  std::string head = "linear";  // embedding: "linear" | "mlp"
  int64_t featureDim = 0;       // embedding: width of the precomputed vectors
  double headDropout = 0.3;     // embedding mlp head
  int64_t numLabels = 2;
  std::vector<int64_t> labelTokens;       // lora: each label word's token ids, label 0 first, words concatenated
  std::vector<int64_t> labelTokenCounts;  // lora: tokens per label word; empty: one each
  int64_t endToken = kImEndTokenId;       // lora: token after the answer
  bool gradientCheckpointing = false;
  int64_t seed = 42;
  AdamWOptions adam;
};

struct ClassifierBatch {
  SequenceBatch sequences;      // token ids (every method in prediction); for lora training each sequence ends with
                                // its label token
  std::vector<float> features;  // embedding training (and its evaluation): rows * featureDim precomputed vectors
  int64_t rows = 0;
  std::vector<int64_t> labels;  // training
};

struct LossResult {
  double loss = 0;     // mean over the batch's loss terms
  int64_t terms = 0;   // loss terms (answer tokens for lora, examples otherwise)
  int64_t tokens = 0;  // real input tokens processed
};

class Classifier {
 public:
  explicit Classifier(const ClassifierSpec& spec);
  ~Classifier();

  // Forward and backward of one micro-batch; gradients (times lossScale) accumulate until step().
  LossResult accumulate(const ClassifierBatch& batch, double lossScale);
  // AdamW update with global-norm clipping; returns the gradient norm before clipping.
  double step(double lr, double maxGradNorm);
  // Class probabilities [rows * numLabels] (softmax over label logits), in inference mode, in input order. Token
  // sequences run in forward passes by length under `limits` (batches.h); precomputed vectors in one.
  std::vector<float> predict(const ClassifierBatch& batch, const BatchLimits& limits = {});

  // Integrated gradients of the label's log-probability with respect to the input embeddings of ids[from, to), from
  // a baseline where each of them is baselineToken's embedding; the weights stay frozen (attribution.cpp).
  Attribution explain(const AttributionRequest& request);

  // Trainable weights in their on-disk names: PEFT keys for lora/lora-head, HF keys + score.weight for full,
  // classifier.* for the embedding head.
  void saveWeights(const std::string& file);
  void loadWeights(const std::string& file);
  // Optimizer moments, step and RNG state, for exact resumption.
  void saveTrainingState(const std::string& file);
  void loadTrainingState(const std::string& file);
  // Data-parallel training: `reduce` gets the accumulated gradients in trainable order (zeros for a parameter without
  // one) and returns what step() uses instead (csrc/core/distributed.h's mean over the ranks).
  void reduceGradients(const std::function<std::vector<torch::Tensor>(std::vector<torch::Tensor>)>& reduce);
  // Gradients accumulated so far, by on-disk name (tests compare them with a float64 reference).
  std::vector<std::pair<std::string, torch::Tensor>> gradients();

  void merge();
  void unmerge();
  // Tokens run for prediction, and prompt tokens reused instead (see PromptCache).
  RunStats stats() const;
  int64_t trainableParameterCount() const;
  int64_t parameterBytes() const;

 private:
  void buildEmbeddingHead();
  torch::Tensor forwardLogits(const ClassifierBatch& batch, bool training, torch::Tensor* targets, int64_t* tokens);
  // Qwen3-Embedding vectors of the base for token sequences: [B, hidden] float32, unit rows, on the head's device.
  torch::Tensor embeddings(const SequenceBatch& sequences);
  void setTrainMode(bool training);

  ClassifierSpec spec_;
  Method method_;
  std::unique_ptr<LoadedModel> base_;  // none for embedding over precomputed vectors
  torch::nn::Linear score_{nullptr};   // lora-head, full
  torch::nn::Sequential embeddingHead_{nullptr};
  std::vector<std::pair<std::string, torch::Tensor>> trainable_;
  std::unique_ptr<AdamW> optimizer_;
  // Prediction reuses a shared prompt's keys and values; cleared whenever the weights change.
  std::unique_ptr<PromptCache> promptCache_;
  torch::Device device_{torch::kCPU};  // of the trained weights (the embedding head stays on the CPU)
  LabelWords labelWords_;              // lora: each label word's tokens (label_words.h)
  torch::Tensor labelRows_;            // lora, every word one token: the label tokens, on device_ (else undefined)
  std::mutex mutex_;
};

}  // namespace q3
