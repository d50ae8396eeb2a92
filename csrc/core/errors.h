// Errors a caller acts on, not only prints: each carries a stable code, which the binding puts on the JS Error
// (error.code) and exports (the addon's `errorCodes`), so TypeScript tells them apart without reading the wording.
#pragma once

#include <stdexcept>
#include <string>

namespace q3 {

// A collective (all-reduce, barrier, all-gather) failed: a peer rank exited or stopped answering. A worker under the
// launcher waits a moment before reporting it, so the launcher's message naming the rank that died comes first.
inline constexpr const char* kCollectiveFailed = "ERR_QWEN3_COLLECTIVE_FAILED";

// Rank 0 could not listen for the rendezvous: the port is taken (another run, or another program). The fix is another
// port, which only the caller can name in its own words (a flag, an option, an environment variable).
inline constexpr const char* kPortTaken = "ERR_QWEN3_PORT_TAKEN";

class CodedError : public std::runtime_error {
 public:
  CodedError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const noexcept { return code_; }

 private:
  const char* code_;
};

}  // namespace q3
