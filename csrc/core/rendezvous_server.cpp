#include "rendezvous.h"

#include <arpa/inet.h>
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
#include <cstring>
#include <list>
#include <map>
#include <stdexcept>

#include "errors.h"
#include "rendezvous_wire.h"

namespace q3 {
using namespace rendezvous_wire;

struct RendezvousServer::State {
  struct Conn {
    int fd;
    Bytes in;
    bool admitted = false;  // presented the run's token
    bool pending = false;   // a GET or WAIT waiting for its keys
    uint8_t pendingOp = 0;
    std::vector<std::string> pendingKeys;
    bool closing = false;
  };
  std::string token;
  int listenFd = -1;
  int wake[2] = {-1, -1};
  std::list<Conn> conns;
  std::map<std::string, Bytes> kv;

  void reply(Conn& c, uint8_t status, Writer w = Writer()) {
    Writer out;
    out.u8(status);
    out.b.insert(out.b.end(), w.b.begin() + 4, w.b.end());
    try {
      sendAll(c.fd, out.frame());
    } catch (const std::exception&) {
      c.closing = true;
    }
  }

  bool answer(Conn& c) {  // a pending request whose keys are all there: answered now
    for (const auto& k : c.pendingKeys)
      if (!kv.count(k)) return false;
    c.pending = false;
    if (c.pendingOp == kGet) reply(c, kOk, std::move(Writer().bytes(kv[c.pendingKeys[0]])));
    else reply(c, kOk);
    return true;
  }
  void answerPending() {
    for (auto& c : conns)
      if (c.pending) answer(c);
  }

  void hello(Conn& c, Reader& r) {
    const std::string theirs = r.str();
    // Compared in constant time: the time taken tells nothing of the token but its length.
    uint8_t diff = theirs.size() == token.size() ? 0 : 1;
    for (size_t i = 0; i < std::min(theirs.size(), token.size()); ++i) diff |= theirs[i] ^ token[i];
    if (diff == 0) {
      c.admitted = true;
      return reply(c, kOk);
    }
    const std::string fix = ": set the same QWEN3_NATIVE_RENDEZVOUS_TOKEN on every machine of the run";
    std::string why = theirs.empty()  ? "this run requires a token and this rank has none" + fix
                      : token.empty() ? "this run has no token and this rank presented one" + fix
                                      : "this rank's token is not the run's" + fix;
    reply(c, kError, std::move(Writer().str(why)));
    c.closing = true;
  }

  void handle(Conn& c, const Bytes& body) {
    Reader r{body};
    const uint8_t op = r.u8();
    if (op == kHello) return hello(c, r);
    if (!c.admitted || c.pending) {
      c.closing = true;  // nothing but a hello from a stranger; one call at a time from a client
      return;
    }
    switch (op) {
      case kSet: {
        std::string key = r.str();
        kv[key] = r.bytes();
        reply(c, kOk);
        return answerPending();
      }
      case kAdd: {
        std::string key = r.str();
        const int64_t delta = r.i64();
        const Bytes& was = kv[key];
        const int64_t now = (was.empty() ? 0 : std::stoll(std::string(was.begin(), was.end()))) + delta;
        const std::string text = std::to_string(now);
        kv[key] = Bytes(text.begin(), text.end());
        reply(c, kOk, std::move(Writer().i64(now)));
        return answerPending();
      }
      case kGet:
      case kWait:
        c.pending = true;
        c.pendingOp = op;
        c.pendingKeys = op == kGet ? std::vector<std::string>{r.str()} : r.strs();
        answer(c);
        return;
      case kCheck: {
        bool all = true;
        for (const auto& k : r.strs()) all &= kv.count(k) > 0;
        return reply(c, kOk, std::move(Writer().u8(all ? 1 : 0)));
      }
      case kDelete: return reply(c, kOk, std::move(Writer().u8(kv.erase(r.str()) ? 1 : 0)));
      case kNumKeys: return reply(c, kOk, std::move(Writer().i64(static_cast<int64_t>(kv.size()))));
      default: c.closing = true;
    }
  }

  void read(Conn& c) {
    uint8_t buf[65536];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      c.closing = true;
      return;
    }
    c.in.insert(c.in.end(), buf, buf + n);
    while (!c.closing && c.in.size() >= 4) {
      const uint32_t len = frameLength(c.in.data());
      if (len == 0 || len > kMaxFrame) {
        c.closing = true;
        return;
      }
      if (c.in.size() < 4 + len) return;
      Bytes body(c.in.begin() + 4, c.in.begin() + 4 + len);
      c.in.erase(c.in.begin(), c.in.begin() + 4 + len);
      try {
        handle(c, body);
      } catch (const std::exception&) {
        c.closing = true;  // a malformed request
      }
    }
  }

  void loop() {
    for (;;) {
      std::vector<pollfd> fds{{wake[0], POLLIN, 0}, {listenFd, POLLIN, 0}};
      for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (fds[0].revents) return;
      size_t i = 2;
      for (auto& c : conns)
        if (fds[i++].revents) read(c);
      for (auto it = conns.begin(); it != conns.end();) {
        if (!it->closing) {
          ++it;
          continue;
        }
        ::close(it->fd);
        it = conns.erase(it);
      }
      if (fds[1].revents & POLLIN) {
        const int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          const int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns.push_back(Conn{fd, {}});
        }
      }
    }
  }
};

RendezvousServer::RendezvousServer(const RendezvousAddress& at, const std::string& token)
    : state_(std::make_unique<State>()) {
  state_->token = token;
  AddressList addrs(at);
  int lastErr = 0;
  std::string tried;
  for (addrinfo* a = addrs.list; a && state_->listenFd < 0; a = a->ai_next) {
    const std::string numeric = numericHost(a->ai_addr, a->ai_addrlen);
    tried += (tried.empty() ? "" : ", ") + numeric;
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    // A run restarted at once finds its port in TIME_WAIT (60 s on Linux): SO_REUSEADDR binds it all the same, and
    // still refuses a port another socket listens on.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
      state_->listenFd = fd;
      bound_ = numeric;
    } else {
      lastErr = errno;
      ::close(fd);
    }
  }
  const std::string head = "rendezvous store: rank 0 cannot listen on " + where(at) +
                           (tried == at.host || tried.empty() ? "" : " (" + tried + ")") + ": ";
  if (state_->listenFd < 0) {
    if (lastErr == EADDRINUSE)
      throw CodedError(
          kPortTaken, head + "port " + std::to_string(at.port) + " is taken by another program or run on this machine");
    if (lastErr == EADDRNOTAVAIL)
      throw std::runtime_error(head + at.host +
                               " is not an address of this machine: rank 0 hosts the store at --master-addr "
                               "(MASTER_ADDR), so pass this machine's address that the other machines reach, the same "
                               "on every machine, or start rank 0 (--node-rank 0) on the machine that has " +
                               at.host);
    throw std::runtime_error(head + std::strerror(lastErr));
  }
  if (::pipe2(state_->wake, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(state_->listenFd);
    throw std::runtime_error(head + std::strerror(err));
  }
  thread_ = std::thread([s = state_.get()] { s->loop(); });
}

RendezvousServer::~RendezvousServer() {
  const char x = 0;
  while (::write(state_->wake[1], &x, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  for (auto& c : state_->conns) ::close(c.fd);
  ::close(state_->listenFd);
  ::close(state_->wake[0]);
  ::close(state_->wake[1]);
}

}  // namespace q3
