// The rendezvous store's wire format and socket helpers, shared by its server (rendezvous_server.cpp) and client
// (rendezvous_client.cpp) only.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "rendezvous.h"

namespace q3::rendezvous_wire {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using Bytes = std::vector<uint8_t>;

enum Op : uint8_t { kHello = 1, kSet, kGet, kAdd, kCheck, kDelete, kNumKeys, kWait };
enum Reply : uint8_t { kOk = 0, kError = 1 };

// A frame is a 4-byte little-endian length, then the body: an op (or a reply's status) and its fields, each integer
// 8 bytes little-endian, each string its length then its bytes.
struct Writer {
  Bytes b{0, 0, 0, 0};
  Writer& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Writer& i64(int64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
    return *this;
  }
  Writer& bytes(const Bytes& v) { return raw(v.data(), v.size()); }
  Writer& str(const std::string& v) { return raw(reinterpret_cast<const uint8_t*>(v.data()), v.size()); }
  Writer& strs(const std::vector<std::string>& v) {
    i64(static_cast<int64_t>(v.size()));
    for (const auto& s : v) str(s);
    return *this;
  }
  Writer& raw(const uint8_t* p, size_t n) {
    i64(static_cast<int64_t>(n));
    b.insert(b.end(), p, p + n);
    return *this;
  }
  Bytes frame() {
    const uint32_t n = static_cast<uint32_t>(b.size() - 4);
    for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(n >> (8 * i));
    return std::move(b);
  }
};

struct Reader {
  const Bytes& b;
  size_t at = 0;
  void need(size_t n) const {
    if (b.size() - at < n) throw std::runtime_error("rendezvous store: a malformed message");
  }
  uint8_t u8() {
    need(1);
    return b[at++];
  }
  int64_t i64() {
    need(8);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[at++]) << (8 * i);
    return static_cast<int64_t>(v);
  }
  Bytes bytes() {
    const int64_t n = i64();
    if (n < 0) throw std::runtime_error("rendezvous store: a malformed message");
    need(static_cast<size_t>(n));
    Bytes v(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += static_cast<size_t>(n);
    return v;
  }
  std::string str() {
    Bytes v = bytes();
    return std::string(v.begin(), v.end());
  }
  std::vector<std::string> strs() {
    std::vector<std::string> v(static_cast<size_t>(std::max<int64_t>(0, i64())));
    for (auto& s : v) s = str();
    return v;
  }
};

// Frames of more than this are refused: the largest value Gloo stores is a rank's address (~100 bytes), and the
// liveness monitor's a counter.
constexpr uint32_t kMaxFrame = 1 << 20;

inline uint32_t frameLength(const uint8_t* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
}

inline void sendAll(int fd, const Bytes& frame) {
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

inline std::string where(const RendezvousAddress& at) {
  const bool v6 = at.host.find(':') != std::string::npos;
  return (v6 ? "[" + at.host + "]" : at.host) + ":" + std::to_string(at.port);
}

inline std::string numericHost(const sockaddr* a, socklen_t len) {
  char host[NI_MAXHOST] = "";
  getnameinfo(a, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
  return host;
}

struct AddressList {
  addrinfo* list = nullptr;
  explicit AddressList(const RendezvousAddress& at) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const int rc = getaddrinfo(at.host.c_str(), std::to_string(at.port).c_str(), &hints, &list);
    if (rc != 0)
      throw std::runtime_error("rendezvous store at " + where(at) + ": cannot resolve " + at.host + " (" +
                               gai_strerror(rc) + "): pass a name or an address of rank 0's machine as --master-addr");
  }
  ~AddressList() { freeaddrinfo(list); }
};

}  // namespace q3::rendezvous_wire
