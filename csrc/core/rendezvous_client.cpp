#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "rendezvous.h"
#include "rendezvous_wire.h"

namespace q3 {
using namespace rendezvous_wire;

namespace {

// One connection attempt to each of the host's addresses, bounded by `until`; -1 when nothing answered (yet).
int connectOnce(const RendezvousAddress& at, Clock::time_point until) {
  AddressList addrs(at);
  for (addrinfo* a = addrs.list; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<Millis>(until - Clock::now()).count();
    int err = ETIMEDOUT;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 0, 5000))) == 1)
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    ::close(fd);
  }
  return -1;
}

std::string seconds(Clock::duration d) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f s", std::chrono::duration<double>(d).count());
  return out;
}

}  // namespace

RendezvousClient::RendezvousClient(const RendezvousAddress& at, const std::string& token, Clock::time_point deadline)
    : at_(at) {
  const auto started = Clock::now();
  // Refused at once while rank 0 is not up yet: tried again every 100 ms, a rank starting seconds after another.
  while ((fd_ = connectOnce(at, deadline)) < 0) {
    if (Clock::now() >= deadline)
      throw std::runtime_error("rendezvous store at " + where(at) + ": nothing listened there for " +
                               seconds(Clock::now() - started) +
                               " (rank 0 hosts it: is it running, with the same --master-addr and --master-port?)");
    std::this_thread::sleep_for(Millis(100));
  }
  const auto left = std::max<int64_t>(1, std::chrono::duration_cast<Millis>(deadline - Clock::now()).count());
  try {
    call(Writer().u8(kHello).str(token).frame(), Millis(left), "joining");
  } catch (...) {
    ::close(fd_);  // a constructor that throws runs no destructor
    throw;
  }
}

RendezvousClient::~RendezvousClient() {
  if (fd_ >= 0) ::close(fd_);
}

Bytes RendezvousClient::call(const Bytes& request, Millis timeout, const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string head = "rendezvous store at " + where(at_) + ", " + what + ": ";
  if (broken_) throw std::runtime_error(head + "the connection was given up after an earlier failure");
  const auto until = Clock::now() + timeout;
  const auto lost = [&](const std::string& why) {
    broken_ = true;
    return std::runtime_error(head + why);
  };
  const std::string gone = "the store closed the connection (its rank 0 ended, or it is not a rendezvous store)";
  try {
    sendAll(fd_, request);
  } catch (const std::exception&) {
    throw lost(gone);
  }
  auto readExactly = [&](uint8_t* into, size_t n) {
    size_t got = 0;
    while (got < n) {
      int wait = -1;
      if (timeout.count() > 0) {
        const auto left = std::chrono::duration_cast<Millis>(until - Clock::now()).count();
        if (left <= 0) throw lost("no answer within " + seconds(timeout));
        wait = static_cast<int>(std::min<int64_t>(left, INT_MAX));
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, wait);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) throw lost("no answer within " + seconds(timeout));
      const ssize_t r = ::recv(fd_, into + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw lost(gone);
      got += static_cast<size_t>(r);
    }
  };
  uint8_t head4[4];
  readExactly(head4, 4);
  const uint32_t len = frameLength(head4);
  if (len == 0 || len > kMaxFrame) throw lost("a malformed answer (is it a rendezvous store?)");
  Bytes body(len);
  readExactly(body.data(), len);
  Reader r{body};
  if (r.u8() == kError) {
    broken_ = true;
    throw std::runtime_error("rendezvous store at " + where(at_) + " refused this rank: " + r.str());
  }
  return Bytes(body.begin() + 1, body.end());
}

void RendezvousClient::set(const std::string& key, const Bytes& value, Millis timeout) {
  call(Writer().u8(kSet).str(key).bytes(value).frame(), timeout, "set " + key);
}

Bytes RendezvousClient::get(const std::string& key, Millis timeout) {
  Bytes reply = call(Writer().u8(kGet).str(key).frame(), timeout, "waiting for key " + key);
  Reader r{reply};
  return r.bytes();
}

int64_t RendezvousClient::add(const std::string& key, int64_t delta, Millis timeout) {
  Bytes reply = call(Writer().u8(kAdd).str(key).i64(delta).frame(), timeout, "add to " + key);
  return Reader{reply}.i64();
}

bool RendezvousClient::check(const std::vector<std::string>& keys, Millis timeout) {
  Bytes reply = call(Writer().u8(kCheck).strs(keys).frame(), timeout, "check");
  return Reader{reply}.u8() != 0;
}

bool RendezvousClient::remove(const std::string& key, Millis timeout) {
  Bytes reply = call(Writer().u8(kDelete).str(key).frame(), timeout, "delete " + key);
  return Reader{reply}.u8() != 0;
}

int64_t RendezvousClient::numKeys(Millis timeout) {
  Bytes reply = call(Writer().u8(kNumKeys).frame(), timeout, "count keys");
  return Reader{reply}.i64();
}

void RendezvousClient::wait(const std::vector<std::string>& keys, Millis timeout) {
  std::string names;
  for (const auto& k : keys) names += (names.empty() ? "" : ", ") + k;
  call(Writer().u8(kWait).strs(keys).frame(), timeout, "waiting for keys " + names);
}

}  // namespace q3
