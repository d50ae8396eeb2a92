// The rendezvous store of a run over several machines: a key-value store that rank 0 hosts and every rank (rank 0 too)
// joins, over which Gloo's ranks find each other and the liveness monitor beats.
//
// Why not c10d's TCPStore: its server (libtorch 1.13, also 2.6) listens on every interface ([::] and 0.0.0.0)
// whatever MASTER_ADDR says, and takes any client, so a second job on the machine could read the first one's keys and
// dial its ranks; 1.13's TCPStoreOptions cannot be handed a bound socket (2.x's masterListenFd). This server listens
// on the address given only, and with a run token refuses every client that does not present it.
// No torch here: the core test runs it alone, and rendezvous_store.h makes a c10d::Store of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace q3 {

// Where the store is: a host name or an address, and a port.
struct RendezvousAddress {
  std::string host;
  int port = 0;
};

// Rank 0's server: a thread answering every client on one listening socket, bound to `at.host` only (a name binds the
// first of its addresses this machine has). A taken port throws CodedError(kPortTaken); an address this machine does
// not have, an error naming it. `token` '' lets any client in; else a client must present the same token.
class RendezvousServer {
 public:
  RendezvousServer(const RendezvousAddress& at, const std::string& token);
  ~RendezvousServer();
  RendezvousServer(const RendezvousServer&) = delete;
  RendezvousServer& operator=(const RendezvousServer&) = delete;

  // The address the socket is bound to, numeric ("10.0.0.1"): what `at.host` resolved to.
  const std::string& boundAddress() const { return bound_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::string bound_;
  std::thread thread_;
};

// One connection to the store, one call at a time (calls from several threads take turns). Every call throws on a
// broken connection (the server's process gone) or after its timeout (0: none); after a timeout the connection is
// given up, since the late answer would be read as the next call's.
class RendezvousClient {
 public:
  using Millis = std::chrono::milliseconds;
  // Connects (retrying while nothing listens yet: rank 0 may start last) and presents `token`, until `deadline`. A
  // server whose token differs refuses, saying so.
  RendezvousClient(const RendezvousAddress& at, const std::string& token,
                   std::chrono::steady_clock::time_point deadline);
  ~RendezvousClient();
  RendezvousClient(const RendezvousClient&) = delete;
  RendezvousClient& operator=(const RendezvousClient&) = delete;

  void set(const std::string& key, const std::vector<uint8_t>& value, Millis timeout);
  // Blocks until the key exists.
  std::vector<uint8_t> get(const std::string& key, Millis timeout);
  int64_t add(const std::string& key, int64_t delta, Millis timeout);
  bool check(const std::vector<std::string>& keys, Millis timeout);
  bool remove(const std::string& key, Millis timeout);
  int64_t numKeys(Millis timeout);
  // Blocks until every key exists.
  void wait(const std::vector<std::string>& keys, Millis timeout);

 private:
  std::vector<uint8_t> call(const std::vector<uint8_t>& request, Millis timeout, const std::string& what);

  RendezvousAddress at_;
  int fd_ = -1;
  std::mutex mu_;
  bool broken_ = false;
};

}  // namespace q3
