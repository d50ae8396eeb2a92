// Whether every rank of a data-parallel group is still alive, told apart from merely slow. Each rank's thread bumps a
// counter in the rendezvous store every window/10 and reads the others'. A rank whose counter stands still for the
// window (stopped, frozen, or cut off from the store), or a store that stops answering, is reported, so a collective
// waiting for that rank fails then: the collective timeout itself must outlast the longest stretch one rank works
// alone (rank 0 writing an 8B checkpoint, minutes), and a hung rank would otherwise cost that long.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace q3 {

class Liveness {
 public:
  Liveness(c10::intrusive_ptr<c10d::Store> store, int rank, int worldSize, std::chrono::milliseconds window);
  // Stops the thread; one still blocked in a store call (a peer cut off mid-call) is left to finish on its own.
  ~Liveness();
  Liveness(const Liveness&) = delete;
  Liveness& operator=(const Liveness&) = delete;

  // "" while every rank shows signs of life; else what happened ("rank 1 of 2 gave no sign of life for 30.0 s ...").
  std::string failure() const;

  struct State;  // shared with the heartbeat thread (liveness.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace q3
