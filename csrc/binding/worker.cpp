#include "worker.h"

#include <memory>
#include <mutex>

#include "../core/errors.h"
#include "serial_thread.h"

namespace q3js {
namespace {

class Settler;

void check(Napi::Env env, napi_status status, const char* what) {
  if (status != napi_ok) throw Napi::Error::New(env, std::string("cannot set up async calls: ") + what);
}

// One call in flight. Created and destroyed on the JS thread (it holds JS handles); the compute thread only runs
// `work` and fills in the outcome.
struct Call {
  Call(Napi::Env env, std::string operation_, Work work_, Napi::Object keepAlive_,
       const std::vector<Napi::Object>& pinned_, std::shared_ptr<Settler> settler_)
      : operation(std::move(operation_)),
        work(std::move(work_)),
        deferred(Napi::Promise::Deferred::New(env)),
        keepAlive(Napi::Persistent(keepAlive_)),
        settler(std::move(settler_)) {
    for (const Napi::Object& o : pinned_) pinned.push_back(Napi::Persistent(o));
  }

  std::string operation;
  Work work;
  ToJs toJs;
  std::exception_ptr error;
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference keepAlive;
  std::vector<Napi::ObjectReference> pinned;
  std::shared_ptr<Settler> settler;
};

// This environment's way back to the JS thread: one thread-safe function, referenced (keeping the event loop
// alive) only while calls are in flight, so a process with nothing pending exits as usual.
class Settler {
 public:
  static std::shared_ptr<Settler> create(Napi::Env env) {
    std::shared_ptr<Settler> settler(new Settler());
    check(env,
          napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, "qwen3-native"), 0, 1, nullptr,
                                          nullptr, settler.get(), &Settler::settle, &settler->tsfn_),
          "napi_create_threadsafe_function");
    check(env, napi_unref_threadsafe_function(env, settler->tsfn_), "napi_unref_threadsafe_function");
    // Registered after the thread-safe function, so it runs before Node closes that function at teardown (cleanup
    // hooks run in reverse order): from then on the compute thread drops outcomes instead of posting them. The hook
    // holds its own reference, so the settler is alive whenever it runs.
    auto* hookRef = new std::shared_ptr<Settler>(settler);
    check(env, napi_add_env_cleanup_hook(env, &Settler::close, hookRef), "napi_add_env_cleanup_hook");
    return settler;
  }

  // JS thread: one more call in flight.
  void begin(Napi::Env env) {
    if (inFlight_++ == 0) napi_ref_threadsafe_function(env, tsfn_);
  }

  // Compute thread: hands a finished call to the JS thread.
  void deliver(Call* call) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || napi_call_threadsafe_function(tsfn_, call, napi_tsfn_nonblocking) != napi_ok) drop(call);
  }

 private:
  Settler() = default;

  // The environment is gone: its JS handles died with it, so only the C++ side of the call is freed.
  static void drop(Call* call) {
    call->keepAlive.SuppressDestruct();
    for (Napi::ObjectReference& r : call->pinned) r.SuppressDestruct();
    delete call;
  }

  static void close(void* hookRef) {
    auto* settler = static_cast<std::shared_ptr<Settler>*>(hookRef);
    {
      std::lock_guard<std::mutex> lock((*settler)->mutex_);
      (*settler)->closed_ = true;
    }
    delete settler;
  }

  // JS thread (napi_env null while Node empties the queue at teardown).
  static void settle(napi_env rawEnv, napi_value, void* context, void* data) {
    auto* call = static_cast<Call*>(data);
    if (rawEnv == nullptr) return drop(call);
    std::unique_ptr<Call> owned(call);
    Napi::Env env(rawEnv);
    Napi::HandleScope scope(env);
    auto* settler = static_cast<Settler*>(context);
    if (--settler->inFlight_ == 0) napi_unref_threadsafe_function(env, settler->tsfn_);
    // Nothing may escape into Node from here (an exception would end the process): a result builder that throws
    // rejects its own promise instead.
    try {
      if (call->error) std::rethrow_exception(call->error);
      call->deferred.Resolve(call->toJs ? call->toJs(env) : env.Undefined());
    } catch (...) {
      try {
        if (env.IsExceptionPending()) env.GetAndClearPendingException();
        call->deferred.Reject(errorFor(env, call->operation, std::current_exception()).Value());
      } catch (...) {
        if (env.IsExceptionPending()) env.GetAndClearPendingException();
      }
    }
  }

  napi_threadsafe_function tsfn_ = nullptr;
  std::mutex mutex_;  // orders deliver() against close()
  bool closed_ = false;
  int64_t inFlight_ = 0;  // JS thread only
};

// Owned by the environment's instance data; in-flight calls share it, so a call finishing after teardown still
// finds a live settler.
struct Workers {
  std::shared_ptr<Settler> settler;
};

}  // namespace

void initWorkers(Napi::Env env) { env.SetInstanceData<Workers>(new Workers{Settler::create(env)}); }

Napi::Promise startWork(Napi::Env env, std::string operation, Work work, Napi::Object keepAlive,
                        const std::vector<Napi::Object>& pinned) {
  std::shared_ptr<Settler> settler = env.GetInstanceData<Workers>()->settler;
  auto* call = new Call(env, std::move(operation), std::move(work), keepAlive, pinned, settler);
  Napi::Promise promise = call->deferred.Promise();
  settler->begin(env);
  SerialThread::shared()->post([call] {
    try {
      call->toJs = call->work();
    } catch (...) {
      call->error = std::current_exception();
    }
    call->work = nullptr;  // the work's reference to the core object ends here, on this thread
    std::shared_ptr<Settler> settler = call->settler;  // outlives deliver(), which may free the call
    settler->deliver(call);
  });
  return promise;
}

Napi::Error errorFor(Napi::Env env, const std::string& operation, std::exception_ptr error) {
  const std::string prefix = operation + ": ";
  try {
    std::rethrow_exception(error);
  } catch (const Napi::Error& e) {
    // Keeps its class (TypeError, RangeError); only the message gains the operation.
    Napi::Object value = e.Value();
    if (e.Message().rfind(prefix, 0) != 0) value.Set("message", Napi::String::New(env, prefix + e.Message()));
    return Napi::Error(env, value);
  } catch (const q3::CodedError& e) {
    Napi::Error coded = Napi::Error::New(env, prefix + e.what());
    coded.Set("code", Napi::String::New(env, e.code()));
    return coded;
  } catch (const c10::Error& e) {
    return Napi::Error::New(env, prefix + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Napi::Error::New(env, prefix + e.what());
  } catch (...) {
    return Napi::Error::New(env, prefix + "unknown native error");
  }
}

}  // namespace q3js
