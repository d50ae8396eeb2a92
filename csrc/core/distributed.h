// Data-parallel training's collectives, on PyTorch's own c10d: a rendezvous store at MASTER_ADDR:MASTER_PORT (rank 0
// hosts it, bound to that address only: rendezvous.h), or a FileStore for a run on one machine, and a ProcessGroupGloo
// over it. Gloo needs Debian's libgloo-dev headers at build time (the symbols are in libtorch_cpu); a build without
// them compiles this unit as "not available" and init throws saying so. NCCL is not compiled in: Debian's libtorch is
// CPU-only (a CUDA build runs the same Gloo group on CPU copies).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace q3 {

// No defaults here: the binding always sets every field, from lib/train/schema.ts (DistributedOptionsSchema: address,
// port, timeout) and lib/train/distributed.ts (the bucket), where the defaults are stated once.
struct DistributedSpec {
  int rank = 0;
  int worldSize = 1;
  std::string masterAddr;
  int masterPort = 0;
  // Not empty: the rendezvous is a file on this machine (c10d's FileStore, in a folder only this user reads) instead
  // of rank 0's store at masterAddr:masterPort, so a run on one machine opens no port another job could reach.
  std::string storeFile;
  // Rank 0's store admits only ranks presenting this secret ('' : any); the file store has no use for it.
  std::string rendezvousToken;
  int64_t timeoutMs = 0;    // rendezvous and every collective
  int64_t livenessMs = 0;   // a rank with no sign of life this long fails the others' collectives (liveness.h)
  int64_t bucketBytes = 0;  // all-reduce bucket
};

// True when this build has Gloo (the libgloo-dev headers were there at build time).
bool distributedAvailable();

class ProcessGroup {
 public:
  // Rendezvous: blocks until every rank has joined, or throws after timeoutMs.
  explicit ProcessGroup(const DistributedSpec& spec);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return spec_.rank; }
  int worldSize() const { return spec_.worldSize; }

  // In place: each tensor becomes the mean over the ranks. Dense float32 tensors go in flat buckets of at most
  // bucketBytes (one all-reduce each, all in flight at once); sparse ones (row-wise embedding gradients) are
  // all-reduced as sparse tensors, so the rows any rank touched are the rows the step updates. Returns the
  // tensors (a sparse one is replaced by a new tensor).
  std::vector<torch::Tensor> allReduceMean(std::vector<torch::Tensor> tensors);
  // In place from rank `root`.
  void barrier();
  // Every rank passes a float32 tensor of the same shape; returns [worldSize, ...shape] (rank order).
  torch::Tensor allGather(const torch::Tensor& tensor);

 private:
  struct Impl;
  DistributedSpec spec_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace q3
