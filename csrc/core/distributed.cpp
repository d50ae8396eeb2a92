#include "distributed.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "errors.h"

// ProcessGroupGloo.hpp declares its class only under USE_C10D_GLOO, and includes <gloo/...> (libgloo-dev).
#if __has_include(<gloo/config.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define QWEN3_NATIVE_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <thread>

#include "liveness.h"
#include "rendezvous_store.h"
#endif

namespace q3 {

namespace {
std::string where(const DistributedSpec& s) {
  return "rank " + std::to_string(s.rank) + " of " + std::to_string(s.worldSize) +
         (s.storeFile.empty() ? " (master " + s.masterAddr + ":" + std::to_string(s.masterPort) + ")"
                              : " (rendezvous file " + s.storeFile + ")");
}

#ifdef QWEN3_NATIVE_GLOO
// An exception's message without libtorch's C++ backtrace: a c10::Error's what() carries 16 frames of it, and the
// launcher quoted the last frame as a failed worker's reason.
std::string reason(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

std::string secondsSince(std::chrono::steady_clock::time_point started) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f s",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return out;
}
#endif
}  // namespace

#ifdef QWEN3_NATIVE_GLOO

bool distributedAvailable() { return true; }

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::unique_ptr<Liveness> liveness;
  bool failed = false;

  // Waits for `work`, failing as soon as the liveness monitor reports a rank gone: the work alone would wait the whole
  // collective timeout. Polled each millisecond: the collectives of a step take milliseconds to seconds.
  void finish(const c10::intrusive_ptr<c10d::Work>& work) {
    while (!work->isCompleted()) {
      std::string gone = liveness ? liveness->failure() : "";
      if (!gone.empty()) {
        failed = true;
        throw std::runtime_error(gone);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    work->wait();
  }
};

namespace {
std::string storeValue(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// Every rank publishes the world size it was started with and compares it with rank 0's (rank 0 with each other
// rank's), before Gloo's own rendezvous: started with different sizes, Gloo waits for a rank that never comes and
// fails after the timeout with "Timed out waiting ... for key"; this says which ranks disagree, at once.
void checkWorldSize(c10d::Store& store, const DistributedSpec& spec) {
  const std::string mine = std::to_string(spec.worldSize);
  const std::string key = "qwen3-native/world-size/";
  auto differs = [&](int other, const std::string& theirs) {
    if (theirs == mine) return;
    throw std::runtime_error("rank " + std::to_string(other) + " was started with a world size of " + theirs +
                             " and this rank with " + mine +
                             ": start every rank with the same world size (WORLD_SIZE; the launcher's "
                             "--nproc-per-node x --nnodes, equal on every machine)");
  };
  // A rank other than 0 reads rank 0's size before it publishes its own: rank 0, seeing a size that differs, fails and
  // takes its store down with it, and a read after that would find the store gone instead of the size to name.
  const std::string rank0 = spec.rank != 0 ? storeValue(store.get(key + "0")) : mine;
  store.set(key + std::to_string(spec.rank), std::vector<uint8_t>(mine.begin(), mine.end()));
  if (spec.rank != 0) differs(0, rank0);
  else
    for (int r = 1; r < spec.worldSize; ++r) differs(r, storeValue(store.get(key + std::to_string(r))));
}
}  // namespace

ProcessGroup::ProcessGroup(const DistributedSpec& spec) : spec_(spec), impl_(std::make_unique<Impl>()) {
  const auto started = std::chrono::steady_clock::now();
  const auto timeout = std::chrono::milliseconds(spec.timeoutMs);
  try {
    if (!spec.storeFile.empty()) {
      impl_->store = c10::make_intrusive<c10d::FileStore>(spec.storeFile, spec.worldSize);
      impl_->store->setTimeout(timeout);
    } else {
      // Rank 0 serves the store on masterAddr only (rendezvous.h says why not c10d's TCPStore).
      impl_->store = c10::make_intrusive<RendezvousStore>(RendezvousAddress{spec.masterAddr, spec.masterPort},
                                                          spec.rendezvousToken, spec.rank == 0, timeout);
    }
    checkWorldSize(*impl_->store, spec);
    auto opts = c10d::ProcessGroupGloo::Options::create();
    // Gloo's own transport device: GLOO_SOCKET_IFNAME as torch.distributed reads it, the loopback when the master is
    // on this machine's loopback, else the address this host's name resolves to.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (spec.masterAddr == "localhost" || spec.masterAddr.rfind("127.", 0) == 0)
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    opts->timeout = timeout;
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, spec.rank, spec.worldSize, opts);
    impl_->liveness =
        std::make_unique<Liveness>(impl_->store, spec.rank, spec.worldSize, std::chrono::milliseconds(spec.livenessMs));
  } catch (const std::exception& e) {
    const std::string head = "rendezvous of " + where(spec) + " failed after " + secondsSince(started) + " (of " +
                             std::to_string(spec.timeoutMs) + " ms allowed): ";
    if (const auto* coded = dynamic_cast<const CodedError*>(&e)) throw CodedError(coded->code(), head + e.what());
    throw std::runtime_error(head + reason(e));
  }
}

ProcessGroup::~ProcessGroup() {
  // After a rank was lost, Gloo's destructor would wait for the stuck collective until its timeout: the group is left
  // behind instead (the run is over; the process ends soon).
  if (impl_ && impl_->failed) (void)impl_->pg.release();
}

std::vector<torch::Tensor> ProcessGroup::allReduceMean(std::vector<torch::Tensor> tensors) {
  torch::NoGradGuard noGrad;
  const double inv = 1.0 / spec_.worldSize;
  // Buckets of dense tensors, in order.
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].is_sparse()) continue;
    const int64_t b = tensors[i].numel() * 4;
    if (buckets.empty() || (bytes + b > spec_.bucketBytes && bytes > 0)) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += b;
  }
  std::vector<std::vector<torch::Tensor>> flats(buckets.size());
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (size_t k = 0; k < buckets.size(); ++k) {
    std::vector<torch::Tensor> parts;
    for (size_t i : buckets[k]) parts.push_back(tensors[i].to(torch::kCPU, torch::kFloat).reshape({-1}));
    flats[k].push_back(torch::cat(parts));
    works.push_back(impl_->pg->allreduce(flats[k]));
  }
  std::vector<std::pair<size_t, c10::intrusive_ptr<c10d::Work>>> sparse;
  std::vector<std::vector<torch::Tensor>> sparseIn;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].is_sparse()) sparseIn.push_back({tensors[i].coalesce().to(torch::kCPU)});
  size_t s = 0;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].is_sparse()) sparse.emplace_back(i, impl_->pg->allreduce(sparseIn[s++]));
  try {
    for (auto& w : works) impl_->finish(w);
    for (auto& [i, w] : sparse) impl_->finish(w);
  } catch (const std::exception& e) {
    throw CodedError(kCollectiveFailed, "gradient all-reduce on " + where(spec_) + " failed: " + reason(e));
  }
  for (size_t k = 0; k < buckets.size(); ++k) {
    torch::Tensor flat = flats[k][0].mul_(inv);
    int64_t at = 0;
    for (size_t i : buckets[k]) {
      torch::Tensor& t = tensors[i];
      const int64_t n = t.numel();
      t.copy_(flat.narrow(0, at, n).view(t.sizes()));
      at += n;
    }
  }
  for (auto& [i, w] : sparse) {
    const torch::Tensor& orig = tensors[i];
    tensors[i] = (w->result()[0].coalesce() * inv).to(orig.device(), orig.scalar_type());
  }
  return tensors;
}

void ProcessGroup::barrier() {
  try {
    impl_->finish(impl_->pg->barrier());
  } catch (const std::exception& e) {
    throw CodedError(kCollectiveFailed, "barrier on " + where(spec_) + " failed: " + reason(e));
  }
}

torch::Tensor ProcessGroup::allGather(const torch::Tensor& tensor) {
  torch::Tensor in = tensor.to(torch::kCPU, torch::kFloat).contiguous();
  std::vector<std::vector<torch::Tensor>> out(1);
  for (int r = 0; r < spec_.worldSize; ++r) out[0].push_back(torch::empty_like(in));
  std::vector<torch::Tensor> inputs{in};
  try {
    impl_->finish(impl_->pg->allgather(out, inputs));
  } catch (const std::exception& e) {
    throw CodedError(kCollectiveFailed, "all-gather on " + where(spec_) + " failed: " + reason(e));
  }
  return torch::stack(out[0]);
}

#else

bool distributedAvailable() { return false; }

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistributedSpec& spec) : spec_(spec) {
  throw std::runtime_error("distributed training on " + where(spec) +
                           ": this build has no Gloo (install libgloo-dev - scripts/setup.sh does - and rebuild with "
                           "npm run build:native)");
}
ProcessGroup::~ProcessGroup() = default;
std::vector<torch::Tensor> ProcessGroup::allReduceMean(std::vector<torch::Tensor> tensors) { return tensors; }
void ProcessGroup::barrier() {}
torch::Tensor ProcessGroup::allGather(const torch::Tensor& tensor) { return tensor.unsqueeze(0); }

#endif

}  // namespace q3
