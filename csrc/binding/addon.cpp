// N-API binding: converts JS values to the core's plain structs, queues the work, converts results back.
// Argument checking lives in lib/ (TypeScript validates, C++ trusts); here we only guard against crashes.
#include <napi.h>

#include <memory>

#include "../core/engine.h"
#include "../core/runtime.h"
#include "classifier_wrap.h"
#include "convert.h"
#include "worker.h"

namespace q3js {
namespace {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("load", &ModelWrap::Load),
                        InstanceMethod("lastTokenLogits", &ModelWrap::LastTokenLogits),
                        InstanceMethod("lastTokenHidden", &ModelWrap::LastTokenHidden),
                        InstanceMethod("stats", &ModelWrap::Stats),
                        InstanceMethod("dispose", &ModelWrap::Dispose)});
  }

  explicit ModelWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<ModelWrap>(info), engine_(std::make_shared<q3::Engine>()) {}

  ~ModelWrap() override { release(Env()); }

  std::shared_ptr<q3::Engine> engine() const { return engine_; }

 private:
  std::shared_ptr<q3::Engine> engine_;
  std::shared_ptr<SerialThread> thread_ = SerialThread::shared();
  int64_t reportedBytes_ = 0;

  std::shared_ptr<q3::Engine> live(const Napi::Env& env, const char* op) {
    if (!engine_) throw Napi::Error::New(env, std::string(op) + ": the model was disposed");
    return engine_;
  }

  void release(Napi::Env env) {
    if (reportedBytes_ != 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
      reportedBytes_ = 0;
    }
    engine_.reset();  // in-flight work keeps its own reference and frees the weights when it ends
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    return guarded(info, "load", [&]() -> Napi::Value {
      auto engine = live(info.Env(), "load");
      Napi::Object o = info[0].As<Napi::Object>();
      q3::LoadRequest req;
      req.files = stringsFromJs(o.Get("files").As<Napi::Array>());
      req.config = configFromJs(o.Get("config").As<Napi::Object>());
      req.device = o.Get("device").As<Napi::String>().Utf8Value();
      req.dtype = o.Get("dtype").As<Napi::String>().Utf8Value();
      return PromiseWorker::Start(
          info.Env(), "load",
          [engine, req, this]() -> ToJs {
            q3::LoadResult r = engine->load(req);
            return [r, this](Napi::Env env) -> Napi::Value {
              if (engine_) {
                // Weights live outside the V8 heap; telling V8 lets its GC weigh an undisposed model properly.
                Napi::MemoryManagement::AdjustExternalMemory(env, r.parameterBytes - reportedBytes_);
                reportedBytes_ = r.parameterBytes;
              }
              Napi::Object out = Napi::Object::New(env);
              out.Set("vocabSize", Napi::Number::New(env, static_cast<double>(r.vocabSize)));
              out.Set("keyPrefix", Napi::String::New(env, r.keyPrefix));
              out.Set("hasLmHead", Napi::Boolean::New(env, r.hasLmHead));
              out.Set("parameterBytes", Napi::Number::New(env, static_cast<double>(r.parameterBytes)));
              return out;
            };
          },
          Value(), thread_);
    });
  }

  Napi::Value LastTokenLogits(const Napi::CallbackInfo& info) {
    return guarded(info, "lastTokenLogits", [&]() -> Napi::Value {
      auto engine = live(info.Env(), "lastTokenLogits");
      q3::SequenceBatch batch = batchFromJs(info);
      return PromiseWorker::Start(
          info.Env(), "lastTokenLogits",
          [engine, batch]() -> ToJs {
            auto logits = std::make_shared<std::vector<float>>(engine->lastTokenLogits(batch));
            return [logits](Napi::Env env) -> Napi::Value { return toFloat32Array(env, std::move(*logits)); };
          },
          Value(), thread_);
    });
  }

  Napi::Value LastTokenHidden(const Napi::CallbackInfo& info) {
    return guarded(info, "lastTokenHidden", [&]() -> Napi::Value {
      auto engine = live(info.Env(), "lastTokenHidden");
      q3::SequenceBatch batch = batchFromJs(info);
      const bool normalize = info.Length() > 3 && info[3].ToBoolean().Value();
      return PromiseWorker::Start(
          info.Env(), "lastTokenHidden",
          [engine, batch, normalize]() -> ToJs {
            auto h = std::make_shared<std::vector<float>>(engine->lastTokenHidden(batch, normalize));
            return [h](Napi::Env env) -> Napi::Value { return toFloat32Array(env, std::move(*h)); };
          },
          Value(), thread_);
    });
  }

  // Counters only (atomics): safe to read while a call runs on the worker thread.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    return guarded(info, "stats", [&]() -> Napi::Value { return statsToJs(info.Env(), live(info.Env(), "stats")->stats()); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    release(info.Env());
    return info.Env().Undefined();
  }
};

Napi::Value RuntimeInfoJs(const Napi::CallbackInfo& info) {
  return guarded(info, "runtimeInfo", [&]() -> Napi::Value {
    q3::initRuntime();
    q3::RuntimeInfo r = q3::runtimeInfo();
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("libtorchVersion", r.libtorchVersion);
    o.Set("cudaAvailable", r.cudaAvailable);
    o.Set("cudaDeviceCount", r.cudaDeviceCount);
    o.Set("threads", r.threads);
    o.Set("cpuBf16", r.cpuBf16);
    return o;
  });
}

Napi::Value SetNumThreadsJs(const Napi::CallbackInfo& info) {
  return guarded(info, "setNumThreads", [&]() -> Napi::Value {
    q3::setNumThreads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfoJs, "runtimeInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreadsJs, "setNumThreads"));
  exports.Set("Model", ModelWrap::Init(env));
  exports.Set("Classifier", initClassifierClass(env));
  return exports;
}

}  // namespace q3js

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return q3js::Init(env, exports); }

NODE_API_MODULE(qwen3_native, InitAddon)
