// Runs core work off the JS thread and settles a promise. Every C++/libtorch exception becomes a JS Error whose
// message starts with the operation's name.
#pragma once

#include <napi.h>

#include <c10/util/Exception.h>

#include <functional>
#include <memory>
#include <string>

#include "serial_thread.h"

namespace q3js {

using ToJs = std::function<Napi::Value(Napi::Env)>;

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // `work` runs off the JS thread (on `thread` when given, else on a libuv pool thread) and returns how to build the
  // JS result on the JS thread.
  PromiseWorker(Napi::Env env, std::string operation, std::function<ToJs()> work, Napi::Object keepAlive,
                std::shared_ptr<SerialThread> thread)
      : Napi::AsyncWorker(env, operation.c_str()),
        deferred_(Napi::Promise::Deferred::New(env)),
        operation_(std::move(operation)),
        work_(std::move(work)),
        thread_(std::move(thread)) {
    // Pins the wrapping JS object (and so its native engine) until the work settles.
    if (!keepAlive.IsEmpty()) keepAlive_ = Napi::Persistent(keepAlive);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  static Napi::Promise Start(Napi::Env env, std::string operation, std::function<ToJs()> work,
                             Napi::Object keepAlive = Napi::Object(), std::shared_ptr<SerialThread> thread = nullptr) {
    auto* w = new PromiseWorker(env, std::move(operation), std::move(work), keepAlive, std::move(thread));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      if (thread_) {
        thread_->run([this] { toJs_ = work_(); });
      } else {
        toJs_ = work_();
      }
    } catch (const c10::Error& e) {
      SetError(operation_ + ": " + e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(operation_ + ": " + e.what());
    } catch (...) {
      SetError(operation_ + ": unknown native error");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(toJs_ ? toJs_(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(env, operation_ + ": " + e.what()).Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string operation_;
  std::function<ToJs()> work_;
  ToJs toJs_;
  std::shared_ptr<SerialThread> thread_;
  Napi::ObjectReference keepAlive_;
};

// Wraps a synchronous binding entry so exceptions become JS errors naming the operation.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* operation, F&& f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(operation) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(operation) + ": " + e.what());
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
