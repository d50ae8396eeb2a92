// The rendezvous store (rendezvous.h) as a c10d::Store, for ProcessGroupGloo and the liveness monitor: what a run over
// several machines uses instead of c10d's TCPStore. Built with the Gloo process group only (distributed.cpp's
// condition): c10d's headers come with it.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rendezvous.h"

namespace q3 {

class RendezvousStore : public c10d::Store {
 public:
  // `host`: this process is rank 0 and serves the store, on `at` only, before joining it as every rank does. `token`
  // '' for none. Joining waits for rank 0's server until `timeout`, which also bounds every call (c10d's timeout_).
  RendezvousStore(const RendezvousAddress& at, const std::string& token, bool host, std::chrono::milliseconds timeout);
  ~RendezvousStore() override;

  void set(const std::string& key, const std::vector<uint8_t>& value) override;
  std::vector<uint8_t> get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;
  // A second connection to the same store. Declared without `override`: libtorch 2.x's Store requires it (a pure
  // virtual), 1.13's has no such method.
  c10::intrusive_ptr<c10d::Store> clone();

  // A clone's: joins the store that `server` (null on ranks other than 0) serves.
  RendezvousStore(const RendezvousAddress& at, const std::string& token, std::shared_ptr<RendezvousServer> server,
                  std::chrono::milliseconds timeout);

 private:
  RendezvousAddress at_;
  std::string token_;
  std::shared_ptr<RendezvousServer> server_;  // rank 0's, shared with its clones; null on the other ranks
  std::unique_ptr<RendezvousClient> client_;
};

}  // namespace q3
