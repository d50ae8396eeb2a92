#include "classifier_wrap.h"

#include <memory>

#include "../core/classifier.h"
#include "convert.h"
#include "worker.h"

namespace q3js {
namespace {

q3::ClassifierSpec specFromJs(const Napi::Object& o) {
  q3::ClassifierSpec s;
  auto num = [&](const Napi::Object& obj, const char* k, double fallback) {
    Napi::Value v = obj.Get(k);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
  };
  s.method = o.Get("method").As<Napi::String>().Utf8Value();
  s.training = o.Get("training").ToBoolean().Value();
  if (o.Get("files").IsArray()) s.model.files = stringsFromJs(o.Get("files").As<Napi::Array>());
  if (o.Get("config").IsObject()) s.model.config = configFromJs(o.Get("config").As<Napi::Object>());
  if (o.Get("device").IsString()) s.model.device = o.Get("device").As<Napi::String>().Utf8Value();
  if (o.Get("dtype").IsString()) s.model.dtype = o.Get("dtype").As<Napi::String>().Utf8Value();
  if (o.Get("lora").IsObject()) {
    Napi::Object l = o.Get("lora").As<Napi::Object>();
    s.lora.r = static_cast<int64_t>(num(l, "r", 8));
    s.lora.alpha = num(l, "alpha", 16);
    s.lora.dropout = num(l, "dropout", 0.05);
    s.lora.rslora = l.Get("rslora").ToBoolean().Value();
    s.targetModules = stringsFromJs(l.Get("targetModules").As<Napi::Array>());
  }
  if (o.Get("head").IsString()) s.head = o.Get("head").As<Napi::String>().Utf8Value();
  s.featureDim = static_cast<int64_t>(num(o, "featureDim", 0));
  s.headDropout = num(o, "headDropout", 0.3);
  s.numLabels = static_cast<int64_t>(num(o, "numLabels", 2));
  if (o.Get("labelTokens").IsArray()) {
    Napi::Array a = o.Get("labelTokens").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) s.labelTokens.push_back(a.Get(i).As<Napi::Number>().Int64Value());
  }
  s.endToken = static_cast<int64_t>(num(o, "endToken", 151645));
  s.gradientCheckpointing = o.Get("gradientCheckpointing").ToBoolean().Value();
  s.seed = static_cast<int64_t>(num(o, "seed", 42));
  if (o.Get("adam").IsObject()) {
    Napi::Object a = o.Get("adam").As<Napi::Object>();
    s.adam.beta1 = num(a, "beta1", 0.9);
    s.adam.beta2 = num(a, "beta2", 0.999);
    s.adam.eps = num(a, "eps", 1e-8);
    s.adam.weightDecay = num(a, "weightDecay", 0.01);
  }
  return s;
}

std::vector<int64_t> labelsFromJs(const Napi::Value& v) {
  auto a = v.As<Napi::Int32Array>();
  return std::vector<int64_t>(a.Data(), a.Data() + a.ElementLength());
}

void featuresFromJs(const Napi::CallbackInfo& info, q3::ClassifierBatch& b) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "expected features: Float32Array");
  auto f = info[0].As<Napi::Float32Array>();
  b.features.assign(f.Data(), f.Data() + f.ElementLength());
  b.rows = info[1].As<Napi::Number>().Int64Value();
}

Napi::Value lossToJs(Napi::Env env, const q3::LossResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("terms", static_cast<double>(r.terms));
  o.Set("tokens", static_cast<double>(r.tokens));
  return o;
}

class ClassifierWrap : public Napi::ObjectWrap<ClassifierWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Classifier",
                       {InstanceMethod("init", &ClassifierWrap::InitJs),
                        InstanceMethod("accumulate", &ClassifierWrap::Accumulate),
                        InstanceMethod("accumulateFeatures", &ClassifierWrap::AccumulateFeatures),
                        InstanceMethod("step", &ClassifierWrap::Step),
                        InstanceMethod("predict", &ClassifierWrap::Predict),
                        InstanceMethod("predictFeatures", &ClassifierWrap::PredictFeatures),
                        InstanceMethod("saveWeights", &ClassifierWrap::SaveWeights),
                        InstanceMethod("loadWeights", &ClassifierWrap::LoadWeights),
                        InstanceMethod("saveTrainingState", &ClassifierWrap::SaveTrainingState),
                        InstanceMethod("loadTrainingState", &ClassifierWrap::LoadTrainingState),
                        InstanceMethod("gradients", &ClassifierWrap::Gradients),
                        InstanceMethod("merge", &ClassifierWrap::Merge),
                        InstanceMethod("unmerge", &ClassifierWrap::Unmerge),
                        InstanceMethod("stats", &ClassifierWrap::Stats),
                        InstanceMethod("dispose", &ClassifierWrap::Dispose)});
  }

  explicit ClassifierWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClassifierWrap>(info) {}
  ~ClassifierWrap() override { release(Env()); }

 private:
  std::shared_ptr<q3::Classifier> core_;
  std::shared_ptr<SerialThread> thread_ = SerialThread::shared();
  bool disposed_ = false;
  int64_t reportedBytes_ = 0;

  std::shared_ptr<q3::Classifier> live(const Napi::Env& env, const char* op) {
    if (disposed_) throw Napi::Error::New(env, std::string(op) + ": the classifier was disposed");
    if (!core_) throw Napi::Error::New(env, std::string(op) + ": the classifier is not initialised (await init())");
    return core_;
  }

  void release(Napi::Env env) {
    if (reportedBytes_ != 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
      reportedBytes_ = 0;
    }
    core_.reset();
  }

  // Runs `f(core)` off the JS thread; `toJs` builds the result.
  template <typename R>
  Napi::Value run(const Napi::CallbackInfo& info, const char* op, std::function<R(q3::Classifier&)> f,
                  std::function<Napi::Value(Napi::Env, R&)> toJs) {
    return guarded(info, op, [&]() -> Napi::Value {
      auto core = live(info.Env(), op);
      return PromiseWorker::Start(
          info.Env(), op,
          [core, f, toJs]() -> ToJs {
            auto result = std::make_shared<R>(f(*core));
            return [result, toJs](Napi::Env env) { return toJs(env, *result); };
          },
          Value(), thread_);
    });
  }

  Napi::Value runVoid(const Napi::CallbackInfo& info, const char* op, std::function<void(q3::Classifier&)> f) {
    return run<bool>(
        info, op, [f](q3::Classifier& c) { f(c); return true; },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  }

  Napi::Value InitJs(const Napi::CallbackInfo& info) {
    return guarded(info, "init", [&]() -> Napi::Value {
      if (disposed_) throw Napi::Error::New(info.Env(), "init: the classifier was disposed");
      if (core_) throw Napi::Error::New(info.Env(), "init: already initialised");
      q3::ClassifierSpec spec = specFromJs(info[0].As<Napi::Object>());
      auto slot = std::make_shared<std::shared_ptr<q3::Classifier>>();
      return PromiseWorker::Start(
          info.Env(), "init",
          [spec, slot, this]() -> ToJs {
            *slot = std::make_shared<q3::Classifier>(spec);
            return [slot, this](Napi::Env env) -> Napi::Value {
              auto& c = **slot;
              if (!disposed_) {
                core_ = *slot;
                reportedBytes_ = c.parameterBytes();
                Napi::MemoryManagement::AdjustExternalMemory(env, reportedBytes_);
              }
              Napi::Object o = Napi::Object::New(env);
              o.Set("trainableParameters", static_cast<double>(c.trainableParameterCount()));
              o.Set("parameterBytes", static_cast<double>(c.parameterBytes()));
              return o;
            };
          },
          Value(), thread_);
    });
  }

  Napi::Value Accumulate(const Napi::CallbackInfo& info) {
    q3::ClassifierBatch b;
    b.sequences = batchFromJs(info, 0);
    b.labels = labelsFromJs(info[3]);
    const double scale = info[4].As<Napi::Number>().DoubleValue();
    return run<q3::LossResult>(
        info, "accumulate", [b, scale](q3::Classifier& c) { return c.accumulate(b, scale); }, lossToJs);
  }

  Napi::Value AccumulateFeatures(const Napi::CallbackInfo& info) {
    q3::ClassifierBatch b;
    featuresFromJs(info, b);
    b.labels = labelsFromJs(info[2]);
    const double scale = info[3].As<Napi::Number>().DoubleValue();
    return run<q3::LossResult>(
        info, "accumulate", [b, scale](q3::Classifier& c) { return c.accumulate(b, scale); }, lossToJs);
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    const double lr = info[0].As<Napi::Number>().DoubleValue();
    const double clip = info[1].As<Napi::Number>().DoubleValue();
    return run<double>(
        info, "step", [lr, clip](q3::Classifier& c) { return c.step(lr, clip); },
        [](Napi::Env env, double& norm) -> Napi::Value { return Napi::Number::New(env, norm); });
  }

  static Napi::Value probsToJs(Napi::Env env, std::vector<float>& p) { return toFloat32Array(env, std::move(p)); }

  Napi::Value Predict(const Napi::CallbackInfo& info) {
    q3::ClassifierBatch b;
    b.sequences = batchFromJs(info, 0);
    return run<std::vector<float>>(
        info, "predict", [b](q3::Classifier& c) { return c.predict(b); }, probsToJs);
  }

  Napi::Value PredictFeatures(const Napi::CallbackInfo& info) {
    q3::ClassifierBatch b;
    featuresFromJs(info, b);
    return run<std::vector<float>>(
        info, "predict", [b](q3::Classifier& c) { return c.predict(b); }, probsToJs);
  }

  std::string fileArg(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "expected a file path");
    return info[0].As<Napi::String>().Utf8Value();
  }

  Napi::Value SaveWeights(const Napi::CallbackInfo& info) {
    std::string f = fileArg(info);
    return runVoid(info, "saveWeights", [f](q3::Classifier& c) { c.saveWeights(f); });
  }
  Napi::Value LoadWeights(const Napi::CallbackInfo& info) {
    std::string f = fileArg(info);
    return runVoid(info, "loadWeights", [f](q3::Classifier& c) { c.loadWeights(f); });
  }
  Napi::Value SaveTrainingState(const Napi::CallbackInfo& info) {
    std::string f = fileArg(info);
    return runVoid(info, "saveTrainingState", [f](q3::Classifier& c) { c.saveTrainingState(f); });
  }
  Napi::Value LoadTrainingState(const Napi::CallbackInfo& info) {
    std::string f = fileArg(info);
    return runVoid(info, "loadTrainingState", [f](q3::Classifier& c) { c.loadTrainingState(f); });
  }

  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    using Grads = std::vector<std::pair<std::string, std::vector<float>>>;
    return run<Grads>(
        info, "gradients",
        [](q3::Classifier& c) {
          Grads out;
          for (auto& [name, t] : c.gradients()) {
            const float* p = t.data_ptr<float>();
            out.emplace_back(name, std::vector<float>(p, p + t.numel()));
          }
          return out;
        },
        [](Napi::Env env, Grads& g) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          for (auto& [name, v] : g) o.Set(name, toFloat32Array(env, std::move(v)));
          return o;
        });
  }

  Napi::Value Merge(const Napi::CallbackInfo& info) {
    return runVoid(info, "merge", [](q3::Classifier& c) { c.merge(); });
  }
  Napi::Value Unmerge(const Napi::CallbackInfo& info) {
    return runVoid(info, "unmerge", [](q3::Classifier& c) { c.unmerge(); });
  }

  // Counters only (atomics): safe to read while a call runs on the worker thread.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    return guarded(info, "stats", [&]() -> Napi::Value { return statsToJs(info.Env(), live(info.Env(), "stats")->stats()); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    disposed_ = true;
    release(info.Env());
    return info.Env().Undefined();
  }
};

}  // namespace

Napi::Function initClassifierClass(Napi::Env env) { return ClassifierWrap::Init(env); }

}  // namespace q3js
