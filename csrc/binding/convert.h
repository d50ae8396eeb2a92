// JS value -> core struct conversions shared by the binding's classes. Values were validated in lib/ (TypeScript
// validates, C++ trusts): these read every field without defaults of their own, and only guard against crashes.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "../core/prompt_cache.h"
#include "../core/requests.h"

namespace q3js {

// o[key], which lib/ always sends.
inline Napi::Value required(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) throw Napi::TypeError::New(o.Env(), std::string("missing field '") + key + "'");
  return v;
}
inline double numberField(const Napi::Object& o, const char* key) {
  return required(o, key).As<Napi::Number>().DoubleValue();
}
inline std::string stringField(const Napi::Object& o, const char* key) {
  return required(o, key).As<Napi::String>().Utf8Value();
}
inline bool boolField(const Napi::Object& o, const char* key) { return required(o, key).As<Napi::Boolean>().Value(); }

inline std::vector<std::string> stringsFromJs(const Napi::Array& a) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

// A count: lib/ sends positive integers; anything a cast to int64 cannot hold (NaN, 1e300) is refused here, since
// that cast is undefined behaviour, and the core's Qwen3Config::validate() judges the rest.
inline int64_t countField(const Napi::Object& o, const char* key, const char* object = "config") {
  const double v = numberField(o, key);
  if (!(v >= -9007199254740992.0 && v <= 9007199254740992.0) || v != static_cast<double>(static_cast<int64_t>(v)))
    throw Napi::RangeError::New(o.Env(), std::string(object) + ": " + key + " is not an integer below 2^53");
  return static_cast<int64_t>(v);
}

inline q3::Qwen3Config configFromJs(const Napi::Object& o) {
  q3::Qwen3Config c;
  c.hidden_size = countField(o, "hidden_size");
  c.num_hidden_layers = countField(o, "num_hidden_layers");
  c.num_attention_heads = countField(o, "num_attention_heads");
  c.num_key_value_heads = countField(o, "num_key_value_heads");
  c.head_dim = countField(o, "head_dim");
  c.intermediate_size = countField(o, "intermediate_size");
  c.rms_norm_eps = numberField(o, "rms_norm_eps");
  c.rope_theta = numberField(o, "rope_theta");
  c.tie_word_embeddings = boolField(o, "tie_word_embeddings");
  return c;
}

inline q3::EmbeddingMapping mappingFromJs(const std::string& name, Napi::Env env) {
  if (name == "auto") return q3::EmbeddingMapping::Auto;
  if (name == "always") return q3::EmbeddingMapping::Always;
  if (name == "never") return q3::EmbeddingMapping::Never;
  throw Napi::TypeError::New(env, "mapEmbeddings must be auto, always or never");
}

// { files, config, device, dtype, mapEmbeddings }: a checkpoint to load.
inline q3::LoadRequest loadRequestFromJs(const Napi::Object& o) {
  q3::LoadRequest r;
  r.files = stringsFromJs(required(o, "files").As<Napi::Array>());
  r.config = configFromJs(required(o, "config").As<Napi::Object>());
  r.device = stringField(o, "device");
  r.dtype = stringField(o, "dtype");
  r.mapEmbeddings = mappingFromJs(stringField(o, "mapEmbeddings"), o.Env());
  return r;
}

inline Napi::Object statsToJs(Napi::Env env, const q3::RunStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tokensRun", Napi::Number::New(env, static_cast<double>(s.tokensRun)));
  o.Set("tokensReused", Napi::Number::New(env, static_cast<double>(s.tokensReused)));
  return o;
}

inline bool isInt32Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array;
}

// Token sequences from (ids: Int32Array, lengths: Int32Array, padLeft) at argument `first`, read where they are: the
// batch points into the JS array's memory, no copy of the ids is made. The compute thread reads them after the JS call
// has returned, so `array` must ride along with the work (startWork's `pinned`), which keeps the array alive until
// the promise settles. lib/ builds each array for its call and never changes or transfers it meanwhile.
struct JsSequences {
  q3::SequenceBatch batch;
  Napi::Object array;
};

inline JsSequences sequencesFromJs(const Napi::CallbackInfo& info, size_t first = 0) {
  if (info.Length() < first + 3 || !isInt32Array(info[first]) || !isInt32Array(info[first + 1]))
    throw Napi::TypeError::New(info.Env(), "expected (ids: Int32Array, lengths: Int32Array, padLeft: boolean)");
  auto ids = info[first].As<Napi::Int32Array>();
  auto lengths = info[first + 1].As<Napi::Int32Array>();
  std::vector<int64_t> counts;
  counts.reserve(lengths.ElementLength());
  int64_t total = 0;
  for (size_t i = 0; i < lengths.ElementLength(); ++i) {
    if (lengths[i] <= 0) throw Napi::RangeError::New(info.Env(), "every sequence needs at least one token");
    counts.push_back(lengths[i]);
    total += lengths[i];
  }
  if (counts.empty()) throw Napi::RangeError::New(info.Env(), "empty batch");
  if (total != static_cast<int64_t>(ids.ElementLength()))
    throw Napi::RangeError::New(info.Env(), "lengths do not add up to the number of ids");
  const bool padLeft = info[first + 2].ToBoolean().Value();
  return {q3::SequenceBatch::concatenated(ids.Data(), std::move(counts), padLeft), ids};
}

// { maxBatchSize, maxBatchTokens }: the limits of one forward pass (lib/qwen3/batching.ts). Absent: every sequence in
// one pass, as given (the numerics tests pin a batch's results that way).
inline q3::BatchLimits limitsFromJs(const Napi::Value& v) {
  q3::BatchLimits limits;
  if (v.IsUndefined()) return limits;
  const Napi::Object o = v.As<Napi::Object>();
  limits.maxRows = countField(o, "maxBatchSize", "limits");
  limits.maxTokens = countField(o, "maxBatchTokens", "limits");
  return limits;
}

}  // namespace q3js
