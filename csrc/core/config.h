// Qwen3 configuration with Hugging Face config.json key names. lib/qwen3/config.ts reads config.json and rejects
// unsupported values (rope_scaling, sliding windows, attention bias) before the core sees them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace q3 {

struct Qwen3Config {
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate_size = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 1e6;
  bool tie_word_embeddings = false;  // when config.json omits it: as lib/qwen3/config.ts and HF's Qwen3Config
  int64_t vocab_size = 0;            // taken from the embedding weights, not from config.json

  void validate() const {
    // 2^24 is far above any real size (Qwen3-8B: vocab 151936, 36 layers, intermediate 12288) and keeps every
    // product of two of them (heads x head_dim, vocab x hidden) far from overflowing int64.
    constexpr int64_t kLargest = int64_t(1) << 24;
    auto positive = [](int64_t v, const char* name) {
      if (v <= 0)
        throw std::invalid_argument(std::string("config: ") + name + " must be positive, got " + std::to_string(v));
      if (v > kLargest)
        throw std::invalid_argument(std::string("config: ") + name + " is " + std::to_string(v) + ", more than " +
                                    std::to_string(kLargest) + " (is config.json corrupt?)");
    };
    positive(hidden_size, "hidden_size");
    positive(num_hidden_layers, "num_hidden_layers");
    positive(num_attention_heads, "num_attention_heads");
    positive(num_key_value_heads, "num_key_value_heads");
    positive(head_dim, "head_dim");
    positive(intermediate_size, "intermediate_size");
    positive(vocab_size, "vocab_size (rows of embed_tokens)");
    if (num_attention_heads % num_key_value_heads != 0)
      throw std::invalid_argument("config: num_attention_heads (" + std::to_string(num_attention_heads) +
                                  ") must be a multiple of num_key_value_heads (" +
                                  std::to_string(num_key_value_heads) + ")");
    if (head_dim % 2 != 0) throw std::invalid_argument("config: head_dim must be even for rotary embeddings");
    if (!(rms_norm_eps > 0)) throw std::invalid_argument("config: rms_norm_eps must be positive");
    if (!(rope_theta > 0)) throw std::invalid_argument("config: rope_theta must be positive");
  }
};

}  // namespace q3
