// JS value -> core struct conversions shared by the binding's classes. Values were validated in lib/.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "../core/engine.h"

namespace q3js {

inline q3::Qwen3Config configFromJs(const Napi::Object& o) {
  q3::Qwen3Config c;
  auto num = [&](const char* k) { return o.Get(k).As<Napi::Number>().DoubleValue(); };
  c.hidden_size = static_cast<int64_t>(num("hidden_size"));
  c.num_hidden_layers = static_cast<int64_t>(num("num_hidden_layers"));
  c.num_attention_heads = static_cast<int64_t>(num("num_attention_heads"));
  c.num_key_value_heads = static_cast<int64_t>(num("num_key_value_heads"));
  c.head_dim = static_cast<int64_t>(num("head_dim"));
  c.intermediate_size = static_cast<int64_t>(num("intermediate_size"));
  c.rms_norm_eps = num("rms_norm_eps");
  c.rope_theta = num("rope_theta");
  c.tie_word_embeddings = o.Get("tie_word_embeddings").ToBoolean().Value();
  return c;
}

inline Napi::Object statsToJs(Napi::Env env, const q3::RunStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tokensRun", Napi::Number::New(env, static_cast<double>(s.tokensRun)));
  o.Set("tokensReused", Napi::Number::New(env, static_cast<double>(s.tokensReused)));
  return o;
}

inline std::vector<std::string> stringsFromJs(const Napi::Array& a) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

// (ids: Int32Array, lengths: Int32Array, padLeft) starting at argument `first`.
inline q3::SequenceBatch batchFromJs(const Napi::CallbackInfo& info, size_t first = 0) {
  if (info.Length() < first + 3 || !info[first].IsTypedArray() || !info[first + 1].IsTypedArray())
    throw Napi::TypeError::New(info.Env(), "expected (ids: Int32Array, lengths: Int32Array, padLeft: boolean)");
  auto ids = info[first].As<Napi::Int32Array>();
  auto lengths = info[first + 1].As<Napi::Int32Array>();
  q3::SequenceBatch b;
  b.ids.assign(ids.Data(), ids.Data() + ids.ElementLength());
  int64_t total = 0;
  for (size_t i = 0; i < lengths.ElementLength(); ++i) {
    if (lengths[i] <= 0) throw Napi::RangeError::New(info.Env(), "every sequence needs at least one token");
    b.lengths.push_back(lengths[i]);
    total += lengths[i];
  }
  if (b.lengths.empty()) throw Napi::RangeError::New(info.Env(), "empty batch");
  if (total != static_cast<int64_t>(b.ids.size()))
    throw Napi::RangeError::New(info.Env(), "lengths do not add up to the number of ids");
  b.padLeft = info[first + 2].ToBoolean().Value();
  return b;
}

}  // namespace q3js
