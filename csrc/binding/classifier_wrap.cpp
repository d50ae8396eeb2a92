#include "classifier_wrap.h"

#include <memory>

#include "../core/classifier.h"
#include "convert.h"
#include "core_handle.h"
#include "distributed_wrap.h"
#include "worker.h"

namespace q3js {
namespace {

// Every field lib/ sends (lib/native.ts NativeClassifierSpec). The groups a method does not use are absent: the base
// checkpoint (embedding training reads precomputed vectors), lora (lora, lora-head), adam (training).
q3::ClassifierSpec specFromJs(const Napi::Object& o) {
  q3::ClassifierSpec s;
  s.method = stringField(o, "method");
  s.training = boolField(o, "training");
  if (!o.Get("files").IsUndefined()) s.model = loadRequestFromJs(o);
  s.model.device = stringField(o, "device");
  s.model.dtype = stringField(o, "dtype");
  if (!o.Get("lora").IsUndefined()) {
    Napi::Object l = o.Get("lora").As<Napi::Object>();
    s.lora.r = static_cast<int64_t>(numberField(l, "r"));
    s.lora.alpha = numberField(l, "alpha");
    s.lora.dropout = numberField(l, "dropout");
    s.lora.rslora = boolField(l, "rslora");
    s.targetModules = stringsFromJs(required(l, "targetModules").As<Napi::Array>());
  }
  s.head = stringField(o, "head");
  s.featureDim = static_cast<int64_t>(numberField(o, "featureDim"));
  s.headDropout = numberField(o, "headDropout");
  s.numLabels = static_cast<int64_t>(numberField(o, "numLabels"));
  Napi::Array labelTokens = required(o, "labelTokens").As<Napi::Array>();
  for (uint32_t i = 0; i < labelTokens.Length(); ++i)
    s.labelTokens.push_back(labelTokens.Get(i).As<Napi::Number>().Int64Value());
  if (!o.Get("labelTokenCounts").IsUndefined()) {
    Napi::Array counts = o.Get("labelTokenCounts").As<Napi::Array>();
    for (uint32_t i = 0; i < counts.Length(); ++i)
      s.labelTokenCounts.push_back(counts.Get(i).As<Napi::Number>().Int64Value());
  }
  s.endToken = static_cast<int64_t>(numberField(o, "endToken"));
  s.gradientCheckpointing = boolField(o, "gradientCheckpointing");
  s.seed = static_cast<int64_t>(numberField(o, "seed"));
  if (!o.Get("adam").IsUndefined()) {
    Napi::Object a = o.Get("adam").As<Napi::Object>();
    s.adam.beta1 = numberField(a, "beta1");
    s.adam.beta2 = numberField(a, "beta2");
    s.adam.eps = numberField(a, "eps");
    s.adam.weightDecay = numberField(a, "weightDecay");
  }
  return s;
}

std::vector<int64_t> labelsFromJs(const Napi::Value& v) {
  if (!isInt32Array(v)) throw Napi::TypeError::New(v.Env(), "expected labels: Int32Array");
  auto a = v.As<Napi::Int32Array>();
  return std::vector<int64_t>(a.Data(), a.Data() + a.ElementLength());
}

void featuresFromJs(const Napi::CallbackInfo& info, q3::ClassifierBatch& b) {
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), "expected features: Float32Array");
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
                       {
                           InstanceMethod("init", &ClassifierWrap::InitJs),
                           InstanceMethod("accumulate", &ClassifierWrap::Accumulate),
                           InstanceMethod("accumulateFeatures", &ClassifierWrap::AccumulateFeatures),
                           InstanceMethod("reduceGradients", &ClassifierWrap::ReduceGradients),
                           InstanceMethod("step", &ClassifierWrap::Step),
                           InstanceMethod("predict", &ClassifierWrap::Predict),
                           InstanceMethod("predictFeatures", &ClassifierWrap::PredictFeatures),
                           InstanceMethod("explain", &ClassifierWrap::Explain),
                           InstanceMethod("saveWeights", &ClassifierWrap::SaveWeights),
                           InstanceMethod("loadWeights", &ClassifierWrap::LoadWeights),
                           InstanceMethod("saveTrainingState", &ClassifierWrap::SaveTrainingState),
                           InstanceMethod("loadTrainingState", &ClassifierWrap::LoadTrainingState),
                           InstanceMethod("gradients", &ClassifierWrap::Gradients),
                           InstanceMethod("merge", &ClassifierWrap::Merge),
                           InstanceMethod("unmerge", &ClassifierWrap::Unmerge),
                           InstanceMethod("stats", &ClassifierWrap::Stats),
                           InstanceMethod("dispose", &ClassifierWrap::Dispose),
                       });
  }

  explicit ClassifierWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClassifierWrap>(info) {}
  ~ClassifierWrap() override { core_.dispose(Env()); }

 private:
  CoreHandle<q3::Classifier> core_{"classifier"};

  // An async method: `prepare` reads the arguments on the JS thread and returns the work on the core object, adding
  // to `pinned` the JS arrays that work reads in place; `toJs` builds the result.
  template <typename R, typename Prepare>
  Napi::Value run(const Napi::CallbackInfo& info, const char* op, Prepare&& prepare,
                  std::function<Napi::Value(Napi::Env, R&)> toJs) {
    return asyncEntry(info, op, [&]() -> Napi::Value {
      auto core = core_.live();
      std::vector<Napi::Object> pinned;
      std::function<R(q3::Classifier&)> f = prepare(pinned);
      return startWork(
          info.Env(), op,
          [core, f, toJs]() -> ToJs {
            auto result = std::make_shared<R>(f(*core));
            return [result, toJs](Napi::Env env) { return toJs(env, *result); };
          },
          Value(), pinned);
    });
  }

  template <typename Prepare>
  Napi::Value runVoid(const Napi::CallbackInfo& info, const char* op, Prepare&& prepare) {
    return run<bool>(
        info, op,
        [&](std::vector<Napi::Object>& pinned) {
          std::function<void(q3::Classifier&)> f = prepare(pinned);
          return [f](q3::Classifier& c) {
            f(c);
            return true;
          };
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  }

  Napi::Value InitJs(const Napi::CallbackInfo& info) {
    return asyncEntry(info, "init", [&]() -> Napi::Value {
      if (core_.disposed()) throw std::runtime_error("the classifier was disposed");
      if (core_.present()) throw std::runtime_error("already initialised");
      q3::ClassifierSpec spec = specFromJs(info[0].As<Napi::Object>());
      return startWork(
          info.Env(), "init",
          [spec, this]() -> ToJs {
            auto created = std::make_shared<q3::Classifier>(spec);
            return [created, this](Napi::Env env) -> Napi::Value {
              if (!core_.disposed()) {
                core_.set(created);
                core_.reportBytes(env, created->parameterBytes());
              }
              Napi::Object o = Napi::Object::New(env);
              o.Set("trainableParameters", static_cast<double>(created->trainableParameterCount()));
              o.Set("parameterBytes", static_cast<double>(created->parameterBytes()));
              return o;
            };
          },
          Value());
    });
  }

  Napi::Value Accumulate(const Napi::CallbackInfo& info) {
    return run<q3::LossResult>(
        info, "accumulate",
        [&](std::vector<Napi::Object>& pinned) {
          JsSequences sequences = sequencesFromJs(info, 0);
          pinned.push_back(sequences.array);
          q3::ClassifierBatch b;
          b.sequences = std::move(sequences.batch);
          b.labels = labelsFromJs(info[3]);
          const double scale = info[4].As<Napi::Number>().DoubleValue();
          return [b, scale](q3::Classifier& c) { return c.accumulate(b, scale); };
        },
        lossToJs);
  }

  Napi::Value AccumulateFeatures(const Napi::CallbackInfo& info) {
    return run<q3::LossResult>(
        info, "accumulate",
        [&](std::vector<Napi::Object>&) {
          q3::ClassifierBatch b;
          featuresFromJs(info, b);
          b.labels = labelsFromJs(info[2]);
          const double scale = info[3].As<Napi::Number>().DoubleValue();
          return [b, scale](q3::Classifier& c) { return c.accumulate(b, scale); };
        },
        lossToJs);
  }

  // Data-parallel training: the accumulated gradients become their mean over the group's ranks.
  Napi::Value ReduceGradients(const Napi::CallbackInfo& info) {
    return runVoid(info, "reduceGradients", [&](std::vector<Napi::Object>&) {
      std::shared_ptr<q3::ProcessGroup> group = processGroupOf(info[0]);
      return [group](q3::Classifier& c) {
        c.reduceGradients([&](std::vector<torch::Tensor> g) { return group->allReduceMean(std::move(g)); });
      };
    });
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    return run<double>(
        info, "step",
        [&](std::vector<Napi::Object>&) {
          const double lr = info[0].As<Napi::Number>().DoubleValue();
          const double clip = info[1].As<Napi::Number>().DoubleValue();
          return [lr, clip](q3::Classifier& c) { return c.step(lr, clip); };
        },
        [](Napi::Env env, double& norm) -> Napi::Value { return Napi::Number::New(env, norm); });
  }

  static Napi::Value probsToJs(Napi::Env env, std::vector<float>& p) { return toFloat32Array(env, std::move(p)); }

  // Token ids, for every method (embedding: through the Qwen3-Embedding base this classifier loaded): any number of
  // sequences, in forward passes under the limits (argument 3).
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    return run<std::vector<float>>(
        info, "predict",
        [&](std::vector<Napi::Object>& pinned) {
          JsSequences sequences = sequencesFromJs(info, 0);
          pinned.push_back(sequences.array);
          q3::ClassifierBatch b;
          b.sequences = std::move(sequences.batch);
          const q3::BatchLimits limits = limitsFromJs(info[3]);
          return [b, limits](q3::Classifier& c) { return c.predict(b, limits); };
        },
        probsToJs);
  }

  // Precomputed embedding vectors (training's evaluation reads them from the cache).
  Napi::Value PredictFeatures(const Napi::CallbackInfo& info) {
    return run<std::vector<float>>(
        info, "predict",
        [&](std::vector<Napi::Object>&) {
          q3::ClassifierBatch b;
          featuresFromJs(info, b);
          return [b](q3::Classifier& c) { return c.predict(b); };
        },
        probsToJs);
  }

  // One sequence's token attributions (lib/native.ts NativeAttributionOptions in argument 1).
  Napi::Value Explain(const Napi::CallbackInfo& info) {
    return run<q3::Attribution>(
        info, "explain",
        [&](std::vector<Napi::Object>&) {
          if (!isInt32Array(info[0])) throw Napi::TypeError::New(info.Env(), "expected ids: Int32Array");
          auto ids = info[0].As<Napi::Int32Array>();
          const Napi::Object o = info[1].As<Napi::Object>();
          q3::AttributionRequest r;
          r.ids.assign(ids.Data(), ids.Data() + ids.ElementLength());
          r.from = static_cast<int64_t>(numberField(o, "from"));
          r.to = static_cast<int64_t>(numberField(o, "to"));
          r.label = static_cast<int64_t>(numberField(o, "label"));
          r.steps = static_cast<int64_t>(numberField(o, "steps"));
          r.baselineToken = static_cast<int64_t>(numberField(o, "baselineToken"));
          r.maxTokensPerPass = static_cast<int64_t>(numberField(o, "maxTokensPerPass"));
          return [r](q3::Classifier& c) { return c.explain(r); };
        },
        [](Napi::Env env, q3::Attribution& a) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          auto scores = Napi::Float64Array::New(env, a.scores.size());
          std::copy(a.scores.begin(), a.scores.end(), scores.Data());
          o.Set("scores", scores);
          o.Set("target", a.target);
          o.Set("baseline", a.baseline);
          return o;
        });
  }

  // The async methods that take one file path.
  Napi::Value withFile(const Napi::CallbackInfo& info, const char* op,
                       void (q3::Classifier::*method)(const std::string&)) {
    return runVoid(info, op, [&](std::vector<Napi::Object>&) {
      if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "expected a file path");
      std::string file = info[0].As<Napi::String>().Utf8Value();
      return [file, method](q3::Classifier& c) { (c.*method)(file); };
    });
  }
  Napi::Value SaveWeights(const Napi::CallbackInfo& info) {
    return withFile(info, "saveWeights", &q3::Classifier::saveWeights);
  }
  Napi::Value LoadWeights(const Napi::CallbackInfo& info) {
    return withFile(info, "loadWeights", &q3::Classifier::loadWeights);
  }
  Napi::Value SaveTrainingState(const Napi::CallbackInfo& info) {
    return withFile(info, "saveTrainingState", &q3::Classifier::saveTrainingState);
  }
  Napi::Value LoadTrainingState(const Napi::CallbackInfo& info) {
    return withFile(info, "loadTrainingState", &q3::Classifier::loadTrainingState);
  }

  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    using Grads = std::vector<std::pair<std::string, std::vector<float>>>;
    return run<Grads>(
        info, "gradients",
        [&](std::vector<Napi::Object>&) {
          return [](q3::Classifier& c) {
            Grads out;
            for (auto& [name, t] : c.gradients()) {
              const float* p = t.data_ptr<float>();
              out.emplace_back(name, std::vector<float>(p, p + t.numel()));
            }
            return out;
          };
        },
        [](Napi::Env env, Grads& g) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          for (auto& [name, v] : g) o.Set(name, toFloat32Array(env, std::move(v)));
          return o;
        });
  }

  Napi::Value Merge(const Napi::CallbackInfo& info) {
    return runVoid(info, "merge", [](std::vector<Napi::Object>&) { return [](q3::Classifier& c) { c.merge(); }; });
  }
  Napi::Value Unmerge(const Napi::CallbackInfo& info) {
    return runVoid(info, "unmerge", [](std::vector<Napi::Object>&) { return [](q3::Classifier& c) { c.unmerge(); }; });
  }

  // Counters only (atomics): safe to read while a call runs on the compute thread. Throws after dispose().
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    return guarded(info, "stats", [&]() -> Napi::Value { return statsToJs(info.Env(), core_.live()->stats()); });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    core_.dispose(info.Env());
    return info.Env().Undefined();
  }
};

}  // namespace

Napi::Function initClassifierClass(Napi::Env env) { return ClassifierWrap::Init(env); }

}  // namespace q3js
