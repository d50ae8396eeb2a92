#include "qwen3.h"

#include <torch/version.h>

#include <limits>

#include "checkpoint_check.h"
#include "device.h"
#include "safetensors.h"

namespace q3 {

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_, const torch::TensorOptions& options) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}, options), false);
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  const auto dtype = x.scalar_type();
  torch::Tensor h = x.to(torch::kFloat);
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * h.to(dtype);
}

EmbeddingImpl::EmbeddingImpl(int64_t vocab, int64_t dim, const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({vocab, dim}, options), false);
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) {
  if (rowReader && ids.device().is_cpu() && !weight.requires_grad()) return rowReader->rows(ids);
  return torch::embedding(weight, ids, /*padding_idx=*/-1, /*scale_grad_by_freq=*/false, sparseGrad);
}

TokenBatch makeTokenBatch(const SequenceBatch& sequences, int64_t padId, const torch::Device& device) {
  TokenBatch b;
  const std::vector<int64_t>& lengths = sequences.lengths;
  const bool padLeft = sequences.padLeft;
  const int64_t B = static_cast<int64_t>(lengths.size());
  int64_t T = 0, N = 0;
  for (int64_t len : lengths) {
    T = std::max(T, len);
    N += len;
  }
  // Everything the batch needs on the device in one host buffer and one copy (page-locked and asynchronous for
  // CUDA): ids [B*T], valid [B*T], last [B], packed ids, positions and index [N each].
  const int64_t BT = B * T;
  torch::Tensor host = hostBuffer({2 * BT + B + 3 * N}, torch::kLong, device);
  int64_t* idsA = host.data_ptr<int64_t>();
  int64_t* validA = idsA + BT;
  int64_t* lastA = validA + BT;
  int64_t* pIds = lastA + B;
  int64_t* pPos = pIds + N;
  int64_t* pIdx = pPos + N;
  std::fill(idsA, idsA + BT, padId);
  std::fill(validA, validA + BT, int64_t(0));
  int64_t offset = 0;
  for (int64_t i = 0; i < B; ++i) {
    const int64_t len = lengths[i];
    const int64_t start = padLeft ? T - len : 0;
    const int32_t* ids = sequences.sequence(static_cast<size_t>(i));
    for (int64_t t = 0; t < len; ++t) {
      idsA[i * T + start + t] = ids[t];
      validA[i * T + start + t] = 1;
      pIds[offset + t] = ids[t];
      pPos[offset + t] = t;
      pIdx[offset + t] = i * T + start + t;
    }
    lastA[i] = start + len - 1;
    offset += len;
    if (len != T) b.padded = true;
  }
  b.tokens = N;
  torch::Tensor all = toDevice(host, device);
  b.ids = all.narrow(0, 0, BT).view({B, T});
  b.valid = all.narrow(0, BT, BT).view({B, T}).to(torch::kBool);
  b.last = all.narrow(0, 2 * BT, B);
  b.packedIds = all.narrow(0, 2 * BT + B, N);
  b.packedPositions = all.narrow(0, 2 * BT + B + N, N);
  if (b.padded) b.packedIndex = all.narrow(0, 2 * BT + B + 2 * N, N);
  return b;
}

namespace {

torch::Tensor rotateHalf(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

torch::Tensor applyRope(const torch::Tensor& x, const AttentionInputs& a) { return x * a.cos + rotateHalf(x) * a.sin; }

// [N, heads, hd] (real tokens) -> [B, heads, T, hd] (padded, zeros at padding slots) for batched attention.
torch::Tensor toPadded(const torch::Tensor& x, const AttentionInputs& a) {
  const int64_t heads = x.size(1), hd = x.size(2);
  torch::Tensor full = x;
  if (a.packedIndex.defined())
    full = torch::zeros({a.batch * a.time, heads, hd}, x.options()).index_copy(0, a.packedIndex, x);
  return full.view({a.batch, a.time, heads, hd}).transpose(1, 2);  // [B, heads, T, hd]
}

// [B, heads, T, hd] -> [N, heads * hd], the real tokens only.
torch::Tensor toPacked(const torch::Tensor& x, const AttentionInputs& a) {
  torch::Tensor rows = x.transpose(1, 2).reshape({a.batch * a.time, x.size(1) * x.size(3)});  // [B*T, heads*hd]
  return a.packedIndex.defined() ? rows.index_select(0, a.packedIndex) : rows;
}

// softmax(q k^T * scale + mask) v with the softmax in float32, as HF's eager attention.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const AttentionInputs& a, double scale) {
#if TORCH_VERSION_MAJOR >= 2
  // Fused kernel (flash / memory-efficient on CUDA, flash on CPU); accumulates in float32.
  if (a.allowed.defined()) return at::scaled_dot_product_attention(q, k, v, a.allowed, 0.0, /*is_causal=*/false);
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
#else
  // As HF's eager attention: scores in the activation dtype, softmax in float32, back to the activation dtype. Done
  // a slice of the batch at a time so the float32 scores of long posts never dominate peak memory.
  const int64_t B = q.size(0), perSequence = q.size(1) * q.size(2) * k.size(2);
  const int64_t chunk = std::max<int64_t>(1, (int64_t(16) << 20) / std::max<int64_t>(1, perSequence));
  const torch::Tensor notAllowed = a.allowed.logical_not();
  std::vector<torch::Tensor> outs;
  for (int64_t b0 = 0; b0 < B; b0 += chunk) {
    const int64_t n = std::min(chunk, B - b0);
    torch::Tensor scores = torch::matmul(q.narrow(0, b0, n), k.narrow(0, b0, n).transpose(-2, -1)).mul_(scale);
    scores.masked_fill_(notAllowed.size(0) == 1 ? notAllowed : notAllowed.narrow(0, b0, n),
                        -std::numeric_limits<float>::infinity());
    torch::Tensor probs = torch::softmax(scores, -1, torch::kFloat).to(q.scalar_type());
    outs.push_back(torch::matmul(probs, v.narrow(0, b0, n)));
  }
  return outs.size() == 1 ? outs[0] : torch::cat(outs, 0);
#endif
}

}  // namespace

Qwen3AttentionImpl::Qwen3AttentionImpl(const Qwen3Config& c, const torch::TensorOptions& o, int64_t layerIndex)
    : heads_(c.num_attention_heads), kvHeads_(c.num_key_value_heads), headDim_(c.head_dim), layerIndex_(layerIndex) {
  q_proj = register_module("q_proj", Linear(c.hidden_size, heads_ * headDim_, o));
  k_proj = register_module("k_proj", Linear(c.hidden_size, kvHeads_ * headDim_, o));
  v_proj = register_module("v_proj", Linear(c.hidden_size, kvHeads_ * headDim_, o));
  o_proj = register_module("o_proj", Linear(heads_ * headDim_, c.hidden_size, o));
  q_norm = register_module("q_norm", RMSNorm(headDim_, c.rms_norm_eps, o));
  k_norm = register_module("k_norm", RMSNorm(headDim_, c.rms_norm_eps, o));
}

torch::Tensor Qwen3AttentionImpl::forward(const torch::Tensor& x, const AttentionInputs& a) {
  const int64_t N = x.size(0), B = a.batch;
  // Per-head norm before RoPE; v has no norm. Projections, norms and RoPE run on real tokens only.
  torch::Tensor q = applyRope(q_norm(q_proj(x).view({N, heads_, headDim_})), a);    // [N, nh, hd]
  torch::Tensor k = applyRope(k_norm(k_proj(x).view({N, kvHeads_, headDim_})), a);  // [N, nkv, hd]
  torch::Tensor v = v_proj(x).view({N, kvHeads_, headDim_});                        // [N, nkv, hd]

  q = toPadded(q, a);  // [B, nh, T, hd]
  k = toPadded(k, a);  // [B, nkv, T, hd]
  v = toPadded(v, a);
  if (a.prefix) {
    const torch::Tensor& pk = a.prefix->keys[layerIndex_];                   // [1 or B, nkv, P, hd]
    k = torch::cat({pk.expand({B, kvHeads_, pk.size(2), headDim_}), k}, 2);  // [B, nkv, P + T, hd]
    v = torch::cat({a.prefix->values[layerIndex_].expand({B, kvHeads_, pk.size(2), headDim_}), v}, 2);
  }
  if (a.capture) {
    a.capture->keys[layerIndex_] = k;
    a.capture->values[layerIndex_] = v;
  }
  if (kvHeads_ != heads_) {
    // Query head h reads kv head h / (nh / nkv), as HF's repeat_kv.
    const int64_t rep = heads_ / kvHeads_, S = k.size(2);
    k = k.unsqueeze(2).expand({B, kvHeads_, rep, S, headDim_}).reshape({B, heads_, S, headDim_});
    v = v.unsqueeze(2).expand({B, kvHeads_, rep, S, headDim_}).reshape({B, heads_, S, headDim_});
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(headDim_));
  torch::Tensor out = attention(q, k, v, a, scale);  // [B, nh, T, hd]
  return o_proj(toPacked(out, a));                   // [N, hidden]
}

Qwen3MLPImpl::Qwen3MLPImpl(const Qwen3Config& c, const torch::TensorOptions& o) {
  gate_proj = register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, o));
  up_proj = register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, o));
  down_proj = register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, o));
}

torch::Tensor Qwen3MLPImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

Qwen3DecoderLayerImpl::Qwen3DecoderLayerImpl(const Qwen3Config& c, const torch::TensorOptions& o, int64_t layerIndex) {
  self_attn = register_module("self_attn", Qwen3Attention(c, o, layerIndex));
  mlp = register_module("mlp", Qwen3MLP(c, o));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, o));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps, o));
}

torch::Tensor Qwen3DecoderLayerImpl::forward(const torch::Tensor& x, const AttentionInputs& a) {
  torch::Tensor h = x + self_attn(input_layernorm(x), a);
  return h + mlp(post_attention_layernorm(h));
}

// ---------------------------------------------------------------------------------------------------------------
// Gradient checkpointing: run the layer without saving activations, recompute it in backward (with the RNG state
// of the forward, so LoRA dropout draws the same mask), as torch.utils.checkpoint does.

namespace {

// The layer travels as an int64_t address: backward() finds it in ctx->saved_data, which holds IValues only (tensors,
// scalars, strings), and a module pointer is none of those. The layer outlives the graph (the model owns it).
struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x, torch::Tensor cos,
                               torch::Tensor sin, torch::Tensor allowed, torch::Tensor packedIndex, int64_t batch,
                               int64_t time, int64_t layerAddress) {
    auto* layer = reinterpret_cast<Qwen3DecoderLayerImpl*>(layerAddress);
    at::Generator gen = at::globalContext().defaultGenerator(x.device());
    ctx->saved_data["rng"] = gen.get_state();
    ctx->saved_data["layer"] = layerAddress;
    ctx->saved_data["has_mask"] = allowed.defined();
    ctx->saved_data["has_index"] = packedIndex.defined();
    ctx->saved_data["batch"] = batch;
    ctx->saved_data["time"] = time;
    // Undefined tensors cannot be saved: a placeholder takes their slot.
    ctx->save_for_backward({x, cos, sin, allowed.defined() ? allowed : cos, packedIndex.defined() ? packedIndex : cos});
    return layer->forward(x, AttentionInputs{cos, sin, allowed, packedIndex, batch, time});
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto* layer = reinterpret_cast<Qwen3DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
    AttentionInputs a{saved[1],
                      saved[2],
                      ctx->saved_data["has_mask"].toBool() ? saved[3] : torch::Tensor(),
                      ctx->saved_data["has_index"].toBool() ? saved[4] : torch::Tensor(),
                      ctx->saved_data["batch"].toInt(),
                      ctx->saved_data["time"].toInt()};
    torch::Tensor x = saved[0].detach().requires_grad_(true);
    at::Generator gen = at::globalContext().defaultGenerator(x.device());
    torch::Tensor rngNow = gen.get_state();
    gen.set_state(ctx->saved_data["rng"].toTensor());
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = layer->forward(x, a);
    }
    gen.set_state(rngNow);
    torch::autograd::backward({out}, {grads[0]});
    return {x.grad(),        torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Models

Qwen3ModelImpl::Qwen3ModelImpl(const Qwen3Config& c, const torch::TensorOptions& o) : config_(c) {
  embed_tokens = register_module("embed_tokens", Embedding(c.vocab_size, c.hidden_size, o));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(Qwen3DecoderLayer(c, o, i));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps, o));
  // inv_freq = 1 / theta^(2j / head_dim), in float32 as HF computes it.
  // A buffer, so loading moves it to the model's device with the weights.
  torch::Tensor invFreq =
      1.0 / torch::pow(c.rope_theta, torch::arange(0, c.head_dim, 2, torch::kLong).to(torch::kFloat) /
                                         static_cast<double>(c.head_dim));
  invFreq_ = register_buffer("inv_freq", invFreq.to(torch::kFloat));
}

AttentionInputs Qwen3ModelImpl::attentionInputs(const TokenBatch& batch, at::ScalarType dtype,
                                                const PrefixKV* prefix) const {
  AttentionInputs a;
  a.batch = batch.ids.size(0);
  a.time = batch.ids.size(1);
  a.packedIndex = batch.packedIndex;
  const int64_t prefixLength = prefix ? prefix->length() : 0;
  torch::Tensor invFreq = invFreq_.to(batch.packedPositions.device());
  torch::Tensor positions = batch.packedPositions + prefixLength;
  if (prefix && prefix->next.defined()) {
    // A per-sequence prefix: each row continues after its own real tokens ((b * T + t) / T is a token's row b).
    torch::Tensor flat =
        batch.packedIndex.defined() ? batch.packedIndex : torch::arange(batch.tokens, batch.packedPositions.options());
    positions = batch.packedPositions + prefix->next.index_select(0, flat.div(a.time, "floor"));
  }
  positions = positions.to(torch::kFloat);
  torch::Tensor freqs = positions.unsqueeze(-1) * invFreq;  // [N, hd/2]
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);       // [N, hd]
  a.cos = emb.cos().to(dtype).unsqueeze(1);                 // [N, 1, hd]
  a.sin = emb.sin().to(dtype).unsqueeze(1);
  const int64_t T = a.time;
  auto boolOpts = torch::TensorOptions().dtype(torch::kBool).device(batch.ids.device());
  torch::Tensor causal = torch::ones({T, T}, boolOpts).tril();
  if (batch.padded) {
    // A padding query row would see no key at all; letting it see itself keeps softmax finite (and its gradient,
    // which is zero, free of NaN).
    torch::Tensor self = torch::eye(T, boolOpts);
    a.allowed = ((causal.unsqueeze(0) & batch.valid.unsqueeze(1)) | self.unsqueeze(0)).unsqueeze(1);  // [B,1,T,T]
  } else if (TORCH_VERSION_MAJOR < 2 || prefixLength > 0) {
    // libtorch 2.x's fused kernel takes is_causal for a plain causal batch; the fallback and a prefix need the mask.
    a.allowed = causal.view({1, 1, T, T});
  }
  if (prefixLength > 0) {
    // Every token sees the whole shared prefix, or the real tokens of its own row's prefix.
    torch::Tensor seePrefix =
        prefix->valid.defined()
            ? prefix->valid.view({a.batch, 1, 1, prefixLength}).expand({a.batch, 1, T, prefixLength})
            : torch::ones({a.allowed.size(0), 1, T, prefixLength}, boolOpts);
    a.allowed = torch::cat({seePrefix, a.allowed.expand({seePrefix.size(0), 1, T, T})}, -1);  // [B, 1, T, P + T]
  }
  return a;
}

torch::Tensor Qwen3ModelImpl::forwardEmbedded(const TokenBatch& batch, torch::Tensor h /* [N, hidden] */,
                                              const PrefixKV* prefix, PrefixKV* capture) {
  AttentionInputs a = attentionInputs(batch, h.scalar_type(), prefix);
  a.prefix = prefix;
  a.capture = capture;  // sized by the caller
  const bool checkpoint = gradient_checkpointing && is_training() && torch::GradMode::is_enabled();
  // With frozen embeddings nothing entering layer 0 needs a gradient, and a checkpointed layer whose inputs need
  // none is skipped by autograd (its LoRA weights would get no gradient): mark the input (HF's
  // enable_input_require_grads does the same).
  if (checkpoint && !h.requires_grad()) h = h.detach().requires_grad_(true);
  for (const auto& m : *layers) {
    auto* layer = m->as<Qwen3DecoderLayerImpl>();
    if (checkpoint) {
      h = CheckpointedLayer::apply(h, a.cos, a.sin, a.allowed, a.packedIndex, a.batch, a.time,
                                   reinterpret_cast<int64_t>(layer));
    } else {
      h = layer->forward(h, a);
    }
  }
  h = norm(h);  // [N, hidden]
  const int64_t H = h.size(1);
  if (a.packedIndex.defined()) h = torch::zeros({a.batch * a.time, H}, h.options()).index_copy(0, a.packedIndex, h);
  return h.view({a.batch, a.time, H});  // [B, T, hidden]
}

PrefixKV Qwen3ModelImpl::prefill(const int32_t* ids, int64_t length) {
  PrefixKV out;
  out.ids.assign(ids, ids + length);
  out.keys.resize(layers->size());
  out.values.resize(layers->size());
  TokenBatch batch = makeTokenBatch(SequenceBatch::concatenated(ids, {length}, /*padLeft=*/false), kPadTokenId,
                                    embed_tokens->weight.device());
  torch::Tensor h = embed_tokens(batch.packedIds);
  AttentionInputs a = attentionInputs(batch, h.scalar_type(), nullptr);
  a.capture = &out;
  for (const auto& m : *layers) h = m->as<Qwen3DecoderLayerImpl>()->forward(h, a);
  return out;
}

Qwen3ForCausalLMImpl::Qwen3ForCausalLMImpl(const Qwen3Config& c, const torch::TensorOptions& o) : config(c) {
  model = register_module("model", Qwen3Model(c, o));
  if (!c.tie_word_embeddings) lm_head = register_module("lm_head", Linear(c.hidden_size, c.vocab_size, o));
}

torch::Tensor Qwen3ForCausalLMImpl::logits(const torch::Tensor& hidden) {
  if (!config.tie_word_embeddings) return lm_head(hidden);
  return torch::nn::functional::linear(hidden, model->embed_tokens->weight);
}

torch::Tensor Qwen3ForCausalLMImpl::logitsFor(const torch::Tensor& hidden, const torch::Tensor& rows) {
  // Only the needed rows of the vocabulary projection (no LoRA is ever placed on lm_head).
  torch::Tensor head =
      config.tie_word_embeddings ? model->embed_tokens->forward(rows) : lm_head->weight.index_select(0, rows);
  return torch::nn::functional::linear(hidden, head);
}

Qwen3ForCausalLMImpl& LoadedModel::lm() {
  if (causalLM.is_empty())
    throw std::runtime_error("no lm_head in this checkpoint (an embedding or untied classifier one): use embed()");
  return *causalLM;
}

torch::nn::Module& LoadedModel::root() {
  if (causalLM.is_empty()) return *model;
  return *causalLM;
}

std::vector<std::pair<std::string, torch::Tensor>> LoadedModel::causalLMParameters() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  const std::string prefix = causalLM.is_empty() ? "model." : "";
  for (auto& p : root().named_parameters(/*recurse=*/true)) out.emplace_back(prefix + p.key(), p.value());
  return out;
}

namespace {

// Whether an embedding table of this size stays in the file (rows read per lookup) rather than in memory.
bool keepOnDisk(EmbeddingMapping mapping, int64_t bytes) {
  if (mapping != EmbeddingMapping::Auto) return mapping == EmbeddingMapping::Always;
  // Reading rows one pread at a time costs ~1 us each (a millisecond per call for a batch of Weibo posts): worth it
  // only where it keeps hundreds of MB out of memory.
  constexpr int64_t kWorthBytes = int64_t(64) << 20;
  return bytes >= kWorthBytes;
}

}  // namespace

LoadedModel loadQwen3(const TensorStore& store, Qwen3Config config, at::ScalarType dtype, const torch::Device& device,
                      EmbeddingMapping mapEmbeddings) {
  LoadedModel out;
  if (store.has("model.embed_tokens.weight")) {
    out.keyPrefix = "model.";
  } else if (store.has("embed_tokens.weight")) {
    out.keyPrefix = "";
  } else {
    throw std::runtime_error(store.fileList() +
                             " hold neither 'model.embed_tokens.weight' (Qwen3ForCausalLM) nor 'embed_tokens.weight' "
                             "(Qwen3Model); is this a Qwen3 checkpoint, with all of its shards?");
  }
  const std::string embedKey = out.keyPrefix + "embed_tokens.weight";
  const TensorEntry& embed = store.entry(embedKey);
  if (embed.shape.size() != 2 || embed.shape[0] == 0)
    throw std::runtime_error(store.fileOf(embedKey) + ": tensor '" + embedKey + "' has shape " +
                             shapeString(embed.shape) + " but an embedding table is [vocab > 0, hidden_size]");
  config.vocab_size = embed.shape[0];
  config.validate();
  // HF's Qwen3Model has no head (tie_word_embeddings does not apply), nor has an untied Qwen3ForSequenceClassification
  // (model.* and score.weight, as 4B/8B classifiers are saved): each loads as a Qwen3Model, under its own key prefix.
  const bool headless = !config.tie_word_embeddings && !store.has("lm_head.weight") && store.has("score.weight");
  const bool causal = !out.keyPrefix.empty() && !headless;
  // Every count and shape against the headers before a single module is allocated.
  checkCheckpointAgainstConfig(store, config, out.keyPrefix, causal);

  torch::NoGradGuard noGrad;
  auto cpuOpts = torch::TensorOptions().dtype(dtype);
  out.config = config;
  if (causal) {
    out.causalLM = Qwen3ForCausalLM(config, cpuOpts);
    out.model = out.causalLM->model;
  } else {
    out.model = Qwen3Model(config, cpuOpts);
  }
  torch::nn::Module& root = out.root();
  // Each parameter is read, checked and moved on its own, so peak memory stays near one copy of the weights.
  for (auto& item : root.named_parameters(/*recurse=*/true)) {
    const std::string key = (causal ? std::string() : out.keyPrefix) + item.key();  // the checkpoint's keys
    const bool map = device.is_cpu() && key == embedKey &&
                     keepOnDisk(mapEmbeddings, item.value().numel() * static_cast<int64_t>(c10::elementSize(dtype)));
    torch::Tensor t = map ? store.loadMapped(key, item.value().sizes().vec(), dtype)
                          : store.load(key, item.value().sizes().vec(), dtype);
    item.value().set_data(t.to(device));
    out.parameterBytes += t.numel() * t.element_size();
    if (map && t.is_cpu()) out.model->embed_tokens->rowReader = store.rowReader(key, dtype);
  }
  root.to(device);
  root.eval();
  return out;
}

}  // namespace q3
