// Built with the Gloo process group only (distributed.cpp's condition): c10d's headers come with it.
#if __has_include(<gloo/config.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#include "rendezvous_store.h"

namespace q3 {

namespace {
std::shared_ptr<RendezvousServer> serve(const RendezvousAddress& at, const std::string& token, bool host) {
  return host ? std::make_shared<RendezvousServer>(at, token) : nullptr;
}
}  // namespace

RendezvousStore::RendezvousStore(const RendezvousAddress& at, const std::string& token, bool host,
                                 std::chrono::milliseconds timeout)
    : RendezvousStore(at, token, serve(at, token, host), timeout) {}

RendezvousStore::RendezvousStore(const RendezvousAddress& at, const std::string& token,
                                 std::shared_ptr<RendezvousServer> server, std::chrono::milliseconds timeout)
    : c10d::Store(timeout), at_(at), token_(token), server_(std::move(server)) {
  const auto deadline =
      timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout : std::chrono::steady_clock::time_point::max();
  client_ = std::make_unique<RendezvousClient>(at, token, deadline);
}

// The client goes first: its connection closes before rank 0's server stops.
RendezvousStore::~RendezvousStore() { client_.reset(); }

void RendezvousStore::set(const std::string& key, const std::vector<uint8_t>& value) {
  client_->set(key, value, timeout_);
}
std::vector<uint8_t> RendezvousStore::get(const std::string& key) { return client_->get(key, timeout_); }
int64_t RendezvousStore::add(const std::string& key, int64_t value) { return client_->add(key, value, timeout_); }
bool RendezvousStore::deleteKey(const std::string& key) { return client_->remove(key, timeout_); }
bool RendezvousStore::check(const std::vector<std::string>& keys) { return client_->check(keys, timeout_); }
int64_t RendezvousStore::getNumKeys() { return client_->numKeys(timeout_); }
void RendezvousStore::wait(const std::vector<std::string>& keys) { client_->wait(keys, timeout_); }
void RendezvousStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  client_->wait(keys, timeout);
}

c10::intrusive_ptr<c10d::Store> RendezvousStore::clone() {
  return c10::make_intrusive<RendezvousStore>(at_, token_, server_, timeout_);
}

}  // namespace q3

#endif
