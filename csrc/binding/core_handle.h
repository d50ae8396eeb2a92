// The one disposal idiom of the wrapped classes (EngineWrap, ClassifierWrap): the core object behind a shared_ptr
// that in-flight work shares, the bytes reported to V8, and a disposed flag after which calls reject.
#pragma once

#include <napi.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace q3js {

template <typename Core>
class CoreHandle {
 public:
  // `what` names the object in errors: "the model was disposed".
  explicit CoreHandle(const char* what) : what_(what) {}

  // The core object for one call; throws when there is none.
  std::shared_ptr<Core> live() const {
    if (disposed_) throw std::runtime_error(std::string("the ") + what_ + " was disposed");
    if (!core_) throw std::runtime_error(std::string("the ") + what_ + " is not initialised (await init())");
    return core_;
  }
  bool disposed() const { return disposed_; }
  bool present() const { return core_ != nullptr; }
  void set(std::shared_ptr<Core> core) { core_ = std::move(core); }

  // Weights live outside the V8 heap; telling V8 lets its GC weigh an undisposed object properly.
  void reportBytes(Napi::Env env, int64_t bytes) {
    if (disposed_) return;
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reportedBytes_);
    reportedBytes_ = bytes;
  }

  // Idempotent. Work in flight keeps its own reference and frees the weights when it ends.
  void dispose(Napi::Env env) {
    disposed_ = true;
    if (reportedBytes_ != 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
      reportedBytes_ = 0;
    }
    core_.reset();
  }

 private:
  const char* what_;
  std::shared_ptr<Core> core_;
  bool disposed_ = false;
  int64_t reportedBytes_ = 0;
};

}  // namespace q3js
