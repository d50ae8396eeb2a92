// N-API binding: module registration and the process-wide runtime calls. The classes live in engine_wrap.cpp and
// classifier_wrap.cpp: they convert JS values to the core's plain structs, queue the work on the compute thread and
// convert results back. Argument checking lives in lib/ (TypeScript validates, C++ trusts); here we only guard
// against crashes.
#include <c10/util/Logging.h>
#include <napi.h>

#include "../core/cpu_pool.h"
#include "../core/errors.h"
#include "../core/runtime.h"
#include "classifier_wrap.h"
#include "distributed_wrap.h"
#include "engine_wrap.h"
#include "worker.h"

namespace q3js {
namespace {

Napi::Value RuntimeInfoJs(const Napi::CallbackInfo& info) {
  return guarded(info, "runtimeInfo", [&]() -> Napi::Value {
    q3::chooseThreads();  // not initRuntime(): that starts a libtorch thread team on the JS thread (50-80 ms)
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

// Reads counters the allocator keeps under its own lock: no work, so no compute-thread round trip.
Napi::Value CudaMemoryJs(const Napi::CallbackInfo& info) {
  return guarded(info, "cudaMemory", [&]() -> Napi::Value {
    q3::DeviceMemory m = q3::cudaMemory(info[0].As<Napi::Number>().Int32Value(), info[1].ToBoolean().Value());
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("available", m.available);
    o.Set("allocated", Napi::Number::New(env, static_cast<double>(m.allocated)));
    o.Set("peakAllocated", Napi::Number::New(env, static_cast<double>(m.peakAllocated)));
    o.Set("reserved", Napi::Number::New(env, static_cast<double>(m.reserved)));
    o.Set("peakReserved", Napi::Number::New(env, static_cast<double>(m.peakReserved)));
    return o;
  });
}

// The CPU pool's counters (csrc/core/cpu_pool.h), read under its lock like cudaMemory's.
Napi::Value CpuPoolJs(const Napi::CallbackInfo& info) {
  return guarded(info, "cpuPool", [&]() -> Napi::Value {
    const q3::CpuPoolStats s = q3::cpuPoolStats();
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    const auto num = [&](int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); };
    o.Set("installed", s.installed);
    o.Set("inUse", num(s.inUse));
    o.Set("peakInUse", num(s.peakInUse));
    o.Set("cached", num(s.cached));
    o.Set("cacheLimit", num(s.cacheLimit));
    o.Set("reused", num(s.reused));
    o.Set("mapped", num(s.mapped));
    o.Set("released", num(s.released));
    return o;
  });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifndef C10_USE_GLOG
  // libtorch built without glog (pip wheels) reads TORCH_CPP_LOG_LEVEL only in c10::initLogging(), which Python's
  // torch calls at import and nothing calls here: without it, c10d's warnings (each with a C++ backtrace) reach
  // stderr. lib/native.ts sets the level before loading the addon. glog builds read GLOG_minloglevel by themselves.
  c10::initLogging();
#endif
  // Before any tensor exists: from here on libtorch's CPU tensors come from the pool.
  q3::installCpuPool();
  initWorkers(env);
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfoJs, "runtimeInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreadsJs, "setNumThreads"));
  exports.Set("cudaMemory", Napi::Function::New(env, CudaMemoryJs, "cudaMemory"));
  exports.Set("cpuPool", Napi::Function::New(env, CpuPoolJs, "cpuPool"));
  exports.Set("Engine", initEngineClass(env));
  exports.Set("Classifier", initClassifierClass(env));
  exports.Set("ProcessGroup", initProcessGroupClass(env));
  exports.Set("distributedAvailable", Napi::Boolean::New(env, q3::distributedAvailable()));
  Napi::Object codes = Napi::Object::New(env);
  codes.Set("collectiveFailed", q3::kCollectiveFailed);
  codes.Set("portTaken", q3::kPortTaken);
  exports.Set("errorCodes", codes);
  return exports;
}

}  // namespace q3js

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return q3js::Init(env, exports); }

NODE_API_MODULE(qwen3_native, InitAddon)
