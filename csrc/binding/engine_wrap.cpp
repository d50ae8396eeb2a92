#include "engine_wrap.h"

#include <memory>

#include "../core/engine.h"
#include "convert.h"
#include "core_handle.h"
#include "worker.h"

namespace q3js {
namespace {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {
                           InstanceMethod("load", &EngineWrap::Load),
                           InstanceMethod("lastTokenLogits", &EngineWrap::LastTokenLogits),
                           InstanceMethod("lastTokenHidden", &EngineWrap::LastTokenHidden),
                           InstanceMethod("stats", &EngineWrap::Stats),
                           InstanceMethod("dispose", &EngineWrap::Dispose),
                       });
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    engine_.set(std::make_shared<q3::Engine>());
  }
  ~EngineWrap() override { engine_.dispose(Env()); }

 private:
  CoreHandle<q3::Engine> engine_{"model"};

  Napi::Value Load(const Napi::CallbackInfo& info) {
    return asyncEntry(info, "load", [&]() -> Napi::Value {
      auto engine = engine_.live();
      q3::LoadRequest req = loadRequestFromJs(info[0].As<Napi::Object>());
      return startWork(
          info.Env(), "load",
          [engine, req, this]() -> ToJs {
            q3::LoadResult r = engine->load(req);
            return [r, this](Napi::Env env) -> Napi::Value {
              engine_.reportBytes(env, r.parameterBytes);
              Napi::Object out = Napi::Object::New(env);
              out.Set("vocabSize", Napi::Number::New(env, static_cast<double>(r.vocabSize)));
              out.Set("keyPrefix", Napi::String::New(env, r.keyPrefix));
              out.Set("hasLmHead", Napi::Boolean::New(env, r.hasLmHead));
              out.Set("parameterBytes", Napi::Number::New(env, static_cast<double>(r.parameterBytes)));
              return out;
            };
          },
          Value());
    });
  }

  // (ids, lengths, padLeft, limits?): any number of sequences, in forward passes under the limits.
  Napi::Value LastTokenLogits(const Napi::CallbackInfo& info) {
    return asyncEntry(info, "lastTokenLogits", [&]() -> Napi::Value {
      auto engine = engine_.live();
      JsSequences sequences = sequencesFromJs(info);
      const q3::BatchLimits limits = limitsFromJs(info[3]);
      return startWork(info.Env(), "lastTokenLogits",
                       [engine, batch = std::move(sequences.batch), limits]() -> ToJs {
                         auto logits = std::make_shared<std::vector<float>>(engine->lastTokenLogits(batch, limits));
                         return
                             [logits](Napi::Env env) -> Napi::Value { return toFloat32Array(env, std::move(*logits)); };
                       },
                       Value(), {sequences.array});
    });
  }

  // (ids, lengths, padLeft, normalize, limits?): likewise.
  Napi::Value LastTokenHidden(const Napi::CallbackInfo& info) {
    return asyncEntry(info, "lastTokenHidden", [&]() -> Napi::Value {
      auto engine = engine_.live();
      JsSequences sequences = sequencesFromJs(info);
      const bool normalize = info[3].ToBoolean().Value();
      const q3::BatchLimits limits = limitsFromJs(info[4]);
      return startWork(info.Env(), "lastTokenHidden",
                       [engine, batch = std::move(sequences.batch), normalize, limits]() -> ToJs {
                         auto h =
                             std::make_shared<std::vector<float>>(engine->lastTokenHidden(batch, normalize, limits));
                         return [h](Napi::Env env) -> Napi::Value { return toFloat32Array(env, std::move(*h)); };
                       },
                       Value(), {sequences.array});
    });
  }

  // Counters only (atomics): safe to read while a call runs on the compute thread. Throws after dispose().
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    return guarded(info, "stats", [&]() -> Napi::Value { return statsToJs(info.Env(), engine_.live()->stats()); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    engine_.dispose(info.Env());
    return info.Env().Undefined();
  }
};

}  // namespace

Napi::Function initEngineClass(Napi::Env env) { return EngineWrap::Init(env); }

}  // namespace q3js
