#include "distributed_wrap.h"

#include <memory>
#include <vector>

#include "convert.h"
#include "core_handle.h"
#include "worker.h"

namespace q3js {
namespace {

// Marks JS objects that wrap a ProcessGroupWrap, so a Classifier passed by mistake is refused, not reinterpreted.
const napi_type_tag kProcessGroupTag = {0x7a0c3d5e1f2b4a69ULL, 0x9d8e7f6a5b4c3d2eULL};

torch::Tensor tensorFromJs(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), "expected a Float32Array");
  auto f = v.As<Napi::Float32Array>();
  return torch::from_blob(f.Data(), {static_cast<int64_t>(f.ElementLength())}, torch::kFloat).clone();
}

std::vector<float> toVector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

class ProcessGroupWrap : public Napi::ObjectWrap<ProcessGroupWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ProcessGroup",
                       {
                           InstanceMethod("init", &ProcessGroupWrap::InitJs),
                           InstanceMethod("allReduceMean", &ProcessGroupWrap::AllReduceMean),
                           InstanceMethod("barrier", &ProcessGroupWrap::Barrier),
                           InstanceMethod("allGather", &ProcessGroupWrap::AllGather),
                           InstanceMethod("dispose", &ProcessGroupWrap::Dispose),
                       });
  }

  explicit ProcessGroupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProcessGroupWrap>(info) {
    info.This().As<Napi::Object>().TypeTag(&kProcessGroupTag);
  }
  ~ProcessGroupWrap() override { core_.dispose(Env()); }

  CoreHandle<q3::ProcessGroup> core_{"process group"};

 private:
  using Arrays = std::vector<std::vector<float>>;

  static Napi::Value arraysToJs(Napi::Env env, Arrays& a) {
    Napi::Array out = Napi::Array::New(env, a.size());
    for (uint32_t i = 0; i < a.size(); ++i) out.Set(i, toFloat32Array(env, std::move(a[i])));
    return out;
  }

  // An async collective: `f` runs on the compute thread with the group.
  Napi::Value run(const Napi::CallbackInfo& info, const char* op, std::function<Arrays(q3::ProcessGroup&)> f) {
    return asyncEntry(info, op, [&]() -> Napi::Value {
      auto core = core_.live();
      return startWork(
          info.Env(), op,
          [core, f]() -> ToJs {
            auto result = std::make_shared<Arrays>(f(*core));
            return [result](Napi::Env env) { return arraysToJs(env, *result); };
          },
          Value());
    });
  }

  Napi::Value InitJs(const Napi::CallbackInfo& info) {
    return asyncEntry(info, "distributedInit", [&]() -> Napi::Value {
      if (core_.disposed()) throw std::runtime_error("the process group was disposed");
      if (core_.present()) throw std::runtime_error("already initialised");
      Napi::Object o = info[0].As<Napi::Object>();
      q3::DistributedSpec s;
      s.rank = static_cast<int>(numberField(o, "rank"));
      s.worldSize = static_cast<int>(numberField(o, "worldSize"));
      s.masterAddr = stringField(o, "masterAddr");
      s.storeFile = stringField(o, "storeFile");
      s.rendezvousToken = stringField(o, "rendezvousToken");
      s.masterPort = static_cast<int>(numberField(o, "masterPort"));
      s.timeoutMs = static_cast<int64_t>(numberField(o, "timeoutMs"));
      s.livenessMs = static_cast<int64_t>(numberField(o, "livenessMs"));
      s.bucketBytes = static_cast<int64_t>(numberField(o, "bucketBytes"));
      return startWork(
          info.Env(), "distributedInit",
          [s, this]() -> ToJs {
            auto created = std::make_shared<q3::ProcessGroup>(s);
            return [created, this](Napi::Env env) -> Napi::Value {
              if (!core_.disposed()) core_.set(created);
              return env.Undefined();
            };
          },
          Value());
    });
  }

  Napi::Value AllReduceMean(const Napi::CallbackInfo& info) {
    if (!info[0].IsArray())
      return asyncEntry(info, "allReduceMean", [&]() -> Napi::Value {
        throw Napi::TypeError::New(info.Env(), "expected an array of Float32Array");
      });
    Napi::Array a = info[0].As<Napi::Array>();
    std::vector<torch::Tensor> ts;
    for (uint32_t i = 0; i < a.Length(); ++i) ts.push_back(tensorFromJs(a.Get(i)));
    return run(info, "allReduceMean", [ts](q3::ProcessGroup& g) {
      Arrays out;
      for (auto& t : g.allReduceMean(ts)) out.push_back(toVector(t));
      return out;
    });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return run(info, "barrier", [](q3::ProcessGroup& g) {
      g.barrier();
      return Arrays{};
    });
  }

  // Float32Array of the same length on every rank -> their concatenation in rank order.
  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    torch::Tensor t = tensorFromJs(info[0]);
    return run(info, "allGather", [t](q3::ProcessGroup& g) { return Arrays{toVector(g.allGather(t))}; });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    core_.dispose(info.Env());
    return info.Env().Undefined();
  }
};

}  // namespace

Napi::Function initProcessGroupClass(Napi::Env env) { return ProcessGroupWrap::Init(env); }

std::shared_ptr<q3::ProcessGroup> processGroupOf(const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kProcessGroupTag))
    throw std::runtime_error("expected a ProcessGroup");
  return ProcessGroupWrap::Unwrap(v.As<Napi::Object>())->core_.live();
}

}  // namespace q3js
