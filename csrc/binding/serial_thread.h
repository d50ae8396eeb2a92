// The thread all native work runs on. libtorch keeps per-thread state (OpenMP team and thread count, the allocator's
// arena): running every call on one thread avoids one arena per libuv pool thread (measured: 20 GB peak instead of
// 8 GB for a 0.6B LoRA step) and one OpenMP team per model (two teams oversubscribe the cores, and their threads stop
// spinning between parallel regions: measured 2x slower small forwards once a second model had run).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "../core/runtime.h"

namespace q3js {

class SerialThread {
 public:
  SerialThread() : thread_([this] { loop(); }) {}
  ~SerialThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  SerialThread(const SerialThread&) = delete;
  SerialThread& operator=(const SerialThread&) = delete;

  // The process's compute thread. Never destroyed: joining it while the process exits could wait on a call in
  // flight; the OS ends it with the process.
  static std::shared_ptr<SerialThread> shared() {
    static auto* instance = new std::shared_ptr<SerialThread>(std::make_shared<SerialThread>());
    return *instance;
  }

  // Queues `task` and returns at once; tasks run one after another, in order. A task must not throw (the caller's
  // task catches and reports its own errors).
  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      q3::applyThreadSetting();
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace q3js
