// Qwen3 decoder as Hugging Face's modeling_qwen3.py computes it. Submodules are named as HF's weights
// (model.layers.N.self_attn.q_proj), so named_parameters() are checkpoint keys with no mapping.
#pragma once

#include <torch/torch.h>

#include "config.h"
#include "linear.h"
#include "requests.h"

namespace q3 {

class RowReader;
class TensorStore;

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps, const torch::TensorOptions& options);
  // Mean of squares and rsqrt in float32, cast back to the input dtype, then times weight (HF Qwen3RMSNorm).
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t vocab, int64_t dim, const torch::TensorOptions& options);
  // Rows of weight for ids: [..., dim].
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;  // [vocab, dim]
  // Set for CPU inference from a mapped checkpoint: rows are read from the file, so lookups leave weight's pages
  // unmapped (only a full-vocabulary product touches them).
  std::shared_ptr<RowReader> rowReader;
  // Training the table (full): the gradient as a sparse tensor of the rows looked up, not a dense [vocab, dim] one
  // (AdamW updates such a table row-wise, adamw.h).
  bool sparseGrad = false;
};
TORCH_MODULE(Embedding);

// A batch of sequences, padded to [B, T] for attention and packed (real tokens only, [N]) for everything else:
// projections, norms and the MLP never see a padding slot. Positions count real tokens, so a sequence gets the same
// positions (and the same result) whether it is padded left, right, or not at all.
struct TokenBatch {
  torch::Tensor ids;              // [B, T] int64
  torch::Tensor valid;            // [B, T] bool, true at real tokens
  torch::Tensor last;             // [B] int64, index of each sequence's last real token
  torch::Tensor packedIds;        // [N] int64, the real tokens in sequence order
  torch::Tensor packedPositions;  // [N] int64
  torch::Tensor packedIndex;      // [N] int64, b * T + t of each real token; undefined when nothing is padded
  bool padded = false;            // false when every sequence has length T (pure causal attention)
  int64_t tokens = 0;             // real tokens in the batch (N)
};

// Fills padding slots: they are never attended to, and id 0 exists in every vocabulary, however small.
constexpr int64_t kPadTokenId = 0;
// <|im_end|>: closes a chat turn, so it follows the answer token in a lora training sequence.
constexpr int64_t kImEndTokenId = 151645;

// The sequences' ids go straight from where they are into the batch's one host buffer (the only copy on the way to
// the device). padId fills the padding (never attended to).
TokenBatch makeTokenBatch(const SequenceBatch& sequences, int64_t padId, const torch::Device& device);

// Rough size of a forward's largest transient tensors (the MLP's activations of every token, as float32), for a
// forward of this many real tokens.
inline int64_t transientBytes(int64_t tokens, const Qwen3Config& c) { return tokens * c.intermediate_size * 4; }

// Keys and values of a prefix the sequences of a batch attend to before their own tokens, per layer (after k_norm
// and RoPE). Shared: one prompt every sequence starts with ([1, nkv, P, hd], ids set, valid/next undefined), computed
// once (Qwen3ModelImpl::prefill); a batch then runs only the tokens after it. Per sequence ([B, nkv, P, hd], valid
// and next set): each row's own padded prompt, kept by a forward (capture) so that continuations of it (lora's label
// words) run without it. Inference only: training changes the weights the keys came from.
struct PrefixKV {
  std::vector<int64_t> ids;
  std::vector<torch::Tensor> keys, values;
  torch::Tensor valid;  // per sequence: [B, P] bool, true at real tokens
  torch::Tensor next;   // per sequence: [B] int64, real tokens each row holds (the position of its next token)
  int64_t length() const { return valid.defined() ? valid.size(1) : static_cast<int64_t>(ids.size()); }
};

struct AttentionInputs {
  torch::Tensor cos, sin;       // [N, 1, head_dim] in the activation dtype (one row per real token)
  torch::Tensor allowed;        // [B, 1, T, P + T] bool (true = attend); undefined when plain causal attention will do
  torch::Tensor packedIndex;    // TokenBatch::packedIndex
  int64_t batch = 0, time = 0;  // B, T of the padded layout attention runs in
  const PrefixKV* prefix = nullptr;  // keys/values every sequence attends to before its own tokens
  PrefixKV* capture = nullptr;       // where each layer leaves its keys/values (the prefix's included)
};

class Qwen3AttentionImpl : public torch::nn::Module {
 public:
  Qwen3AttentionImpl(const Qwen3Config& c, const torch::TensorOptions& options, int64_t layerIndex);
  // x: [N, hidden], real tokens only.
  torch::Tensor forward(const torch::Tensor& x, const AttentionInputs& a);
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};

 private:
  int64_t heads_, kvHeads_, headDim_, layerIndex_;
};
TORCH_MODULE(Qwen3Attention);

class Qwen3MLPImpl : public torch::nn::Module {
 public:
  Qwen3MLPImpl(const Qwen3Config& c, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Qwen3MLP);

class Qwen3DecoderLayerImpl : public torch::nn::Module {
 public:
  Qwen3DecoderLayerImpl(const Qwen3Config& c, const torch::TensorOptions& options, int64_t layerIndex);
  torch::Tensor forward(const torch::Tensor& x, const AttentionInputs& a);
  Qwen3Attention self_attn{nullptr};
  Qwen3MLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(Qwen3DecoderLayer);

// HF's Qwen3Model: embed_tokens, layers, norm.
class Qwen3ModelImpl : public torch::nn::Module {
 public:
  Qwen3ModelImpl(const Qwen3Config& c, const torch::TensorOptions& options);
  // [B, T, hidden] after the final norm (zeros at padding slots). With a prefix, the batch holds the tokens after it.
  // capture (inference; keys and values sized to the layers): receives every layer's keys/values, [B, nkv, P + T,
  // hd], the prefix's first.
  torch::Tensor forward(const TokenBatch& batch, const PrefixKV* prefix = nullptr, PrefixKV* capture = nullptr) {
    return forwardEmbedded(batch, embed_tokens(batch.packedIds), prefix, capture);
  }
  // The same from the input embeddings ([N, hidden], packed as batch.packedIds: HF's inputs_embeds), which may need
  // a gradient (attributions differentiate the output with respect to them).
  torch::Tensor forwardEmbedded(const TokenBatch& batch, torch::Tensor embedded, const PrefixKV* prefix = nullptr,
                                PrefixKV* capture = nullptr);
  // Keys and values of every layer for one token sequence (inference).
  PrefixKV prefill(const int32_t* ids, int64_t length);
  AttentionInputs attentionInputs(const TokenBatch& batch, at::ScalarType dtype, const PrefixKV* prefix) const;
  Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  // Recompute each layer in backward instead of storing its activations (training of 4B/8B).
  bool gradient_checkpointing = false;

 private:
  Qwen3Config config_;
  torch::Tensor invFreq_;  // [head_dim / 2] float32
};
TORCH_MODULE(Qwen3Model);

// HF's Qwen3ForCausalLM: `model` plus lm_head (separate weight, or the embedding matrix when tied).
class Qwen3ForCausalLMImpl : public torch::nn::Module {
 public:
  Qwen3ForCausalLMImpl(const Qwen3Config& c, const torch::TensorOptions& options);
  // Projects selected hidden states [N, hidden] onto the vocabulary; lm_head is never applied anywhere else.
  torch::Tensor logits(const torch::Tensor& hidden);
  // Same, onto a subset of vocabulary rows (label tokens): [N, rows.size()].
  torch::Tensor logitsFor(const torch::Tensor& hidden, const torch::Tensor& rows);

  Qwen3Config config;
  Qwen3Model model{nullptr};
  Linear lm_head{nullptr};  // only when tie_word_embeddings is false
};
TORCH_MODULE(Qwen3ForCausalLM);

// A loaded checkpoint, as the class it was saved from: Qwen3ForCausalLM (keys "model.*", plus "lm_head.weight" when
// untied) or Qwen3Model (Qwen3-Embedding: keys without "model.", no head at all).
struct LoadedModel {
  Qwen3Config config;                  // vocab_size from the weights
  Qwen3Model model{nullptr};           // the decoder: causalLM->model, or the checkpoint's Qwen3Model itself
  Qwen3ForCausalLM causalLM{nullptr};  // null for a Qwen3Model checkpoint
  std::string keyPrefix;               // "model." (Qwen3ForCausalLM) or "" (Qwen3Model)
  int64_t parameterBytes = 0;

  bool hasLmHead() const { return !causalLM.is_empty(); }
  // The causal LM, for logits; throws for a Qwen3Model checkpoint, which has no lm_head.
  Qwen3ForCausalLMImpl& lm();
  // The module whose named_parameters() are this checkpoint's keys.
  torch::nn::Module& root();
  // Parameters named as in a Qwen3ForCausalLM checkpoint ("model.*", "lm_head.weight" when untied), whichever class
  // the checkpoint was saved from: a classifier built on it names its weights as HF's Qwen3ForSequenceClassification
  // and PEFT do, with the decoder under `model`.
  std::vector<std::pair<std::string, torch::Tensor>> causalLMParameters();
};

// Builds the model from a checkpoint: shapes checked against the config, vocabulary size taken from the weights.
// mapEmbeddings (CPU inference only): embed_tokens stays a mapping of the file, so only the rows looked up (and the
// label rows scored) become resident: ~0.3 GB less for Qwen3-0.6B in bf16.
LoadedModel loadQwen3(const TensorStore& store, Qwen3Config config, at::ScalarType dtype, const torch::Device& device,
                      EmbeddingMapping mapEmbeddings);

}  // namespace q3
