// Built with the Gloo process group only (distributed.cpp's condition): c10d's headers come with it.
#if __has_include(<gloo/config.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#include "liveness.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace q3 {

using Clock = std::chrono::steady_clock;

struct Liveness::State {
  c10::intrusive_ptr<c10d::Store> store;
  int rank = 0;
  int worldSize = 1;
  std::chrono::milliseconds window{0};
  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::string failure;          // under mutex
  Clock::time_point lastRound;  // under mutex: when this rank last completed a round with the store
};

namespace {
std::string key(int rank) { return "qwen3-native/alive/" + std::to_string(rank); }

std::string seconds(Clock::duration d) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f s", std::chrono::duration<double>(d).count());
  return out;
}

std::string messageOf(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

void beat(const std::shared_ptr<Liveness::State>& s) {
  const auto period = std::max(s->window / 10, std::chrono::milliseconds(50));
  std::vector<std::string> seen(s->worldSize);
  std::vector<Clock::time_point> changed(s->worldSize, Clock::now());
  int64_t count = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(s->mutex);
      if (s->wake.wait_for(lock, period, [&] { return s->stopping; })) return;
    }
    try {
      const std::string mine = std::to_string(++count);
      s->store->set(key(s->rank), std::vector<uint8_t>(mine.begin(), mine.end()));
      const auto now = Clock::now();
      std::string failure;
      for (int r = 0; r < s->worldSize && failure.empty(); ++r) {
        if (r == s->rank) continue;
        // check() does not wait: a rank that has not beaten yet is judged by the time since this one started.
        std::string theirs;
        if (s->store->check({key(r)})) {
          const std::vector<uint8_t> v = s->store->get(key(r));
          theirs.assign(v.begin(), v.end());
        }
        if (theirs != seen[r]) {
          seen[r] = theirs;
          changed[r] = now;
        } else if (now - changed[r] > s->window) {
          failure = "rank " + std::to_string(r) + " of " + std::to_string(s->worldSize) + " gave no sign of life for " +
                    seconds(now - changed[r]) + " (stopped, frozen, or its machine unreachable)";
        }
      }
      std::lock_guard<std::mutex> lock(s->mutex);
      s->lastRound = Clock::now();
      if (!failure.empty()) {
        s->failure = failure;
        return;
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(s->mutex);
      if (!s->stopping) s->failure = "the rendezvous store stopped answering (" + messageOf(e) + ")";
      return;
    }
  }
}
}  // namespace

Liveness::Liveness(c10::intrusive_ptr<c10d::Store> store, int rank, int worldSize, std::chrono::milliseconds window)
    : state_(std::make_shared<State>()) {
  state_->store = std::move(store);
  state_->rank = rank;
  state_->worldSize = worldSize;
  state_->window = window;
  state_->lastRound = Clock::now();
  // The thread holds the state (and so the store) itself: detached by the destructor, it may outlive this object.
  std::thread([s = state_] { beat(s); }).detach();
}

Liveness::~Liveness() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->stopping = true;
  state_->wake.notify_all();
}

std::string Liveness::failure() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (!state_->failure.empty()) return state_->failure;
  // A store call that blocks (the store's machine cut off without a reset) ends no round: that is a failure too.
  const auto since = Clock::now() - state_->lastRound;
  if (since > state_->window)
    return "the rendezvous store gave no answer for " + seconds(since) + " (its machine unreachable?)";
  return "";
}

}  // namespace q3

#endif
