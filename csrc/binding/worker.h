// Async binding calls: the JS thread queues the work on the process's compute thread (serial_thread.h) and gets a
// promise; the compute thread hands the outcome back through a thread-safe function, and the JS thread settles the
// promise. No libuv pool thread ever waits on the compute thread, so fs, dns, zlib and crypto keep their 4 pool
// threads while inference runs (test/native/threading.test.js: with 8 forwards queued, a readFile waited 0.7-4.3 s when each
// call parked a pool thread, 2-6 ms now). Every exception becomes a JS Error whose message starts with the
// operation's name.
#pragma once

#include <napi.h>

#include <c10/util/Exception.h>

#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace q3js {

// Builds the JS result on the JS thread.
using ToJs = std::function<Napi::Value(Napi::Env)>;
// Runs on the compute thread (no Napi calls there) and says how to build the result.
using Work = std::function<ToJs()>;

// Sets up this environment's way back to the JS thread; called once from module registration.
void initWorkers(Napi::Env env);

// Queues `work` on the compute thread and returns its promise. keepAlive (the wrapping JS object) and `pinned` (JS
// arrays the work reads in place, convert.h sequencesFromJs) stay alive until the promise settles; the work itself
// holds its own reference to the core object.
Napi::Promise startWork(Napi::Env env, std::string operation, Work work, Napi::Object keepAlive,
                        const std::vector<Napi::Object>& pinned = {});

// The JS Error for an exception caught in `operation`: "<operation>: <what>".
Napi::Error errorFor(Napi::Env env, const std::string& operation, std::exception_ptr error);

// An async entry point: `start` converts arguments and calls startWork. Whatever it throws (a disposed object,
// arguments the binding cannot read) becomes a rejected promise: async methods reject, they never throw.
template <typename F>
Napi::Value asyncEntry(const Napi::CallbackInfo& info, const char* operation, F&& start) {
  try {
    return start();
  } catch (...) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
    deferred.Reject(errorFor(info.Env(), operation, std::current_exception()).Value());
    return deferred.Promise();
  }
}

// A synchronous entry point: exceptions become JS errors naming the operation, thrown at once.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* operation, F&& f) {
  try {
    return f();
  } catch (...) {
    throw errorFor(info.Env(), operation, std::current_exception());
  }
}

// A Float32Array that owns `data` without copying it.
inline Napi::Float32Array toFloat32Array(Napi::Env env, std::vector<float>&& data) {
  auto* owned = new std::vector<float>(std::move(data));
  const size_t n = owned->size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(
      env, owned->data(), n * sizeof(float), [](Napi::Env, void*, std::vector<float>* v) { delete v; }, owned);
  return Napi::Float32Array::New(env, n, buf, 0);
}

}  // namespace q3js
