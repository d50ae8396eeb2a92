#include "checkpoint_check.h"

#include <cctype>
#include <stdexcept>
#include <vector>

#include "safetensors.h"

namespace q3 {
namespace {

// The layer indices the checkpoint holds ("model.layers.7.mlp..." -> 7): their count, or -1 when they are not
// 0..n-1 without gaps (a shard is missing or holds another model's tensors).
int64_t layersInCheckpoint(const TensorStore& store, const std::string& prefix, int64_t* highest) {
  const std::string start = prefix + "layers.";
  std::vector<bool> seen;
  *highest = -1;
  for (const auto& kv : store.index()) {
    const std::string& name = kv.first;
    if (name.compare(0, start.size(), start) != 0) continue;
    size_t i = start.size();
    int64_t n = 0;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) && n < (int64_t(1) << 24))
      n = n * 10 + (name[i++] - '0');
    if (i == start.size() || i >= name.size() || name[i] != '.') continue;
    if (n >= static_cast<int64_t>(seen.size())) seen.resize(static_cast<size_t>(n) + 1, false);
    seen[static_cast<size_t>(n)] = true;
    if (n > *highest) *highest = n;
  }
  for (bool s : seen)
    if (!s) return -1;
  return static_cast<int64_t>(seen.size());
}

class Checker {
 public:
  Checker(const TensorStore& store) : store_(store) {}

  // `keys` says which config.json values the expected shape comes from.
  void expect(const std::string& name, const std::vector<int64_t>& shape, const std::string& keys) const {
    if (!store_.has(name))
      throw std::runtime_error("missing tensor '" + name + "' (looked in " + store_.fileList() +
                               "), which config.json's " + keys +
                               " call for; is a shard missing or from another model?");
    const TensorEntry& e = store_.entry(name);
    if (e.shape != shape)
      throw std::runtime_error(store_.fileOf(name) + ": tensor '" + name + "' has shape " + shapeString(e.shape) +
                               " but config.json's " + keys + " give " + shapeString(shape) +
                               "; config.json does not describe these weights");
    if (e.dtype != "F32" && e.dtype != "BF16" && e.dtype != "F16")
      throw std::runtime_error(store_.fileOf(name) + ": tensor '" + name + "' has dtype " + e.dtype +
                               "; expected F32, BF16 or F16");
  }

 private:
  const TensorStore& store_;
};

}  // namespace

void checkCheckpointAgainstConfig(const TensorStore& store, const Qwen3Config& c, const std::string& prefix,
                                  bool causal) {
  const Checker check(store);
  const int64_t hidden = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  const std::string h = "hidden_size (" + std::to_string(hidden) + ")";
  check.expect(prefix + "embed_tokens.weight", {c.vocab_size, hidden}, h);
  check.expect(prefix + "norm.weight", {hidden}, h);
  if (causal && !c.tie_word_embeddings) {
    if (!store.has("lm_head.weight"))
      throw std::runtime_error("config.json says tie_word_embeddings=false but " + store.fileList() +
                               " hold no 'lm_head.weight'");
    check.expect("lm_head.weight", {c.vocab_size, hidden}, h);
  }
  int64_t highest = -1;
  const int64_t layers = layersInCheckpoint(store, prefix, &highest);
  if (layers != c.num_hidden_layers) {
    const std::string held =
        layers < 0 ? "layers up to " + std::to_string(highest) + " with gaps" : std::to_string(layers) + " layers";
    throw std::runtime_error("config.json's num_hidden_layers is " + std::to_string(c.num_hidden_layers) + " but " +
                             store.fileList() + " hold " + held + " ('" + prefix + "layers.N...')");
  }
  const std::string q = "num_attention_heads x head_dim (" + std::to_string(c.num_attention_heads) + " x " +
                        std::to_string(hd) + ") and " + h;
  const std::string kv = "num_key_value_heads x head_dim (" + std::to_string(c.num_key_value_heads) + " x " +
                         std::to_string(hd) + ") and " + h;
  const std::string mlp = "intermediate_size (" + std::to_string(inter) + ") and " + h;
  const std::string headDim = "head_dim (" + std::to_string(hd) + ")";
  for (int64_t i = 0; i < layers; ++i) {
    const std::string l = prefix + "layers." + std::to_string(i) + ".";
    check.expect(l + "self_attn.q_proj.weight", {c.num_attention_heads * hd, hidden}, q);
    check.expect(l + "self_attn.k_proj.weight", {c.num_key_value_heads * hd, hidden}, kv);
    check.expect(l + "self_attn.v_proj.weight", {c.num_key_value_heads * hd, hidden}, kv);
    check.expect(l + "self_attn.o_proj.weight", {hidden, c.num_attention_heads * hd}, q);
    check.expect(l + "self_attn.q_norm.weight", {hd}, headDim);
    check.expect(l + "self_attn.k_norm.weight", {hd}, headDim);
    check.expect(l + "mlp.gate_proj.weight", {inter, hidden}, mlp);
    check.expect(l + "mlp.up_proj.weight", {inter, hidden}, mlp);
    check.expect(l + "mlp.down_proj.weight", {hidden, inter}, mlp);
    check.expect(l + "input_layernorm.weight", {hidden}, h);
    check.expect(l + "post_attention_layernorm.weight", {hidden}, h);
  }
}

}  // namespace q3
