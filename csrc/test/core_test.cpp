// The core alone (no Node) against the float64 goldens of test/fixtures, as test/numerics/model.test.js checks it through the
// addon: when this passes and the JS test fails, the bug is in the binding or lib/. Same tolerances as the JS tests
// (test/fixtures/README.md: an fp32 backend is within 3.4e-6 on logits and 2.7e-7 on embeddings).
//   qwen3_core_test <test/fixtures>      (scripts/core-test.sh builds and runs it through ctest)
#include <c10/core/CPUAllocator.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../core/cpu_pool.h"
#include "../core/distributed.h"
#include "../core/engine.h"
#include "../core/errors.h"
#include "../core/json.h"
#include "../core/rendezvous.h"
#include "../core/safetensors_header.h"

#if __has_include(<gloo/config.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include "../core/liveness.h"
#define QWEN3_TEST_LIVENESS 1
#endif

namespace {

constexpr double kLogitsTolerance = 1e-4;
constexpr double kEmbeddingTolerance = 1e-5;

q3::Json readJson(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return q3::Json::parse(text.str());
}

// The config.json keys the core takes (lib/qwen3/config.ts has already checked the fixtures).
q3::Qwen3Config configOf(const q3::Json& j) {
  q3::Qwen3Config c;
  c.hidden_size = j.at("hidden_size").asInt();
  c.num_hidden_layers = j.at("num_hidden_layers").asInt();
  c.num_attention_heads = j.at("num_attention_heads").asInt();
  c.num_key_value_heads = j.at("num_key_value_heads").asInt();
  c.head_dim = j.at("head_dim").asInt();
  c.intermediate_size = j.at("intermediate_size").asInt();
  c.rms_norm_eps = j.at("rms_norm_eps").asNumber();
  c.rope_theta = j.at("rope_theta").asNumber();
  c.tie_word_embeddings = j.at("tie_word_embeddings").asBool();
  return c;
}

struct Fixture {
  q3::Engine engine;
  q3::Json goldens;
  std::vector<int32_t> ids;  // every golden sequence, concatenated
  q3::SequenceBatch batch;   // all of them, a view of ids
  q3::LoadResult loaded;
};

void open(Fixture& f, const std::string& fixtures, const std::string& name) {
  const std::string dir = fixtures + "/models/" + name;
  q3::LoadRequest req;
  req.files = {dir + "/model.safetensors"};
  req.config = configOf(readJson(dir + "/config.json"));
  req.device = "cpu";
  req.dtype = "float32";
  f.loaded = f.engine.load(req);
  f.goldens = readJson(fixtures + "/goldens/" + name + ".json");
  std::vector<int64_t> lengths;
  for (const q3::Json& seq : f.goldens.at("sequences").items()) {
    for (const q3::Json& id : seq.items()) f.ids.push_back(static_cast<int32_t>(id.asInt()));
    lengths.push_back(static_cast<int64_t>(seq.size()));
  }
  f.batch = q3::SequenceBatch::concatenated(f.ids.data(), std::move(lengths), /*padLeft=*/true);
}

// Largest |actual - golden| over all rows; prints it and whether it is within `tolerance`.
bool compare(const std::string& what, const std::vector<float>& actual, const q3::Json& goldenRows, double tolerance) {
  double worst = 0;
  size_t k = 0;
  for (const q3::Json& row : goldenRows.items())
    for (const q3::Json& v : row.items()) {
      if (k >= actual.size()) {
        std::printf("FAIL %s: %zu values, the goldens have more\n", what.c_str(), actual.size());
        return false;
      }
      worst = std::max(worst, std::fabs(actual[k++] - v.asNumber()));
    }
  const bool ok = k == actual.size() && worst <= tolerance;
  std::printf("%s %s: max |difference| %.3g (tolerance %.0e, %zu values)\n", ok ? "ok  " : "FAIL", what.c_str(), worst,
              tolerance, k);
  return ok;
}

// The parser's known weak spots, each once: what must be refused, and what it must say.
bool rejects(const std::string& what, const std::function<void()>& f, const std::string& expected) {
  try {
    f();
  } catch (const std::exception& e) {
    const bool ok = std::string(e.what()).find(expected) != std::string::npos;
    std::printf("%s %s: %s\n", ok ? "ok  " : "FAIL", what.c_str(), e.what());
    return ok;
  }
  std::printf("FAIL %s: accepted\n", what.c_str());
  return false;
}

std::string header(const std::string& entry) { return "{\"w\":" + entry + "}"; }

bool parserChecks() {
  bool ok = true;
  ok &= rejects(
      "JSON number 1.2.3", [] { q3::Json::parse("[1.2.3]"); }, "malformed number '1.2.3'");
  ok &= rejects(
      "JSON number 01", [] { q3::Json::parse("[01]"); }, "malformed number");
  ok &= rejects(
      "JSON number 1e999", [] { q3::Json::parse("[1e999]"); }, "out of range");
  ok &= rejects(
      "high surrogate + \\u0041", [] { q3::Json::parse("[\"\\ud800\\u0041\"]"); }, "not a low surrogate");
  ok &= rejects(
      "lone high surrogate", [] { q3::Json::parse("[\"\\ud800x\"]"); }, "without a low surrogate");
  ok &= rejects(
      "lone low surrogate", [] { q3::Json::parse("[\"\\udc00\"]"); }, "lone low surrogate");
  ok &= rejects(
      "duplicate key", [] { q3::Json::parse("{\"a\":1,\"a\":2}"); }, "duplicate key");
  const bool pair = q3::Json::parse("[\"\\ud83d\\ude00\"]").items()[0].asString() == "\xF0\x9F\x98\x80";
  std::printf("%s a surrogate pair decodes to U+1F600\n", pair ? "ok  " : "FAIL");
  ok &= pair;
  // 2^32 x 2^32 x 4 bytes wraps to 0 in uint64: it matched data_offsets [0, 0] before the product was checked.
  const std::string overflow = header(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]})");
  ok &= rejects(
      "shape product overflow", [&] { q3::parseSafetensorsHeader(overflow, 8 + overflow.size()); }, "overflows");
  const std::string early = header(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4.0.0]})");
  ok &= rejects(
      "offset 4.0.0", [&] { q3::parseSafetensorsHeader(early, 8 + early.size() + 4); }, "malformed number");
  const std::string good = header(R"({"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]})");
  const auto entries = q3::parseSafetensorsHeader(good, 8 + good.size() + 12);
  const bool parsed = entries.at("w").shape == std::vector<int64_t>{2, 3} && entries.at("w").begin == 8 + good.size();
  std::printf("%s a valid header parses\n", parsed ? "ok  " : "FAIL");
  return ok && parsed;
}

// Two ranks (threads) on loopback: the averaged all-reduce across buckets (a 64-byte bucket splits the three dense
// tensors) and of a sparse tensor (rows either rank touched), and all-gather.
bool distributedChecks() {
  if (!q3::distributedAvailable()) {
    std::printf("skip distributed checks: built without Gloo (libgloo-dev)\n");
    return true;
  }
  const int port = 29400 + static_cast<int>(std::random_device{}() % 500);
  std::vector<std::vector<torch::Tensor>> results(2);
  std::vector<torch::Tensor> gathered(2);
  std::vector<std::string> errors(2);
  auto rank = [&](int r) {
    try {
      q3::DistributedSpec s;
      s.rank = r;
      s.worldSize = 2;
      s.masterAddr = "127.0.0.1";
      s.masterPort = port;
      s.timeoutMs = 20000;
      s.livenessMs = 20000;
      s.bucketBytes = 64;
      q3::ProcessGroup g(s);
      const float v = static_cast<float>(r + 1);  // rank 0: 1, rank 1: 2 -> mean 1.5
      torch::Tensor sparse =
          torch::sparse_coo_tensor(torch::tensor({{r * 2}}, torch::kLong), torch::full({1, 3}, v), {4, 3});
      results[r] = g.allReduceMean({torch::full({10}, v), torch::full({2, 3}, v), torch::full({5}, v), sparse});
      gathered[r] = g.allGather(torch::full({3}, v));
      g.barrier();
    } catch (const std::exception& e) {
      errors[r] = e.what();
    }
  };
  std::thread t0(rank, 0), t1(rank, 1);
  t0.join();
  t1.join();
  bool ok = errors[0].empty() && errors[1].empty();
  if (!ok) std::printf("FAIL distributed: %s | %s\n", errors[0].c_str(), errors[1].c_str());
  for (int r = 0; ok && r < 2; ++r) {
    for (int i = 0; i < 3; ++i) ok &= results[r][i].eq(1.5f).all().item<bool>();
    torch::Tensor dense = results[r][3].to_dense();
    torch::Tensor want = torch::zeros({4, 3});
    want[0] = 0.5f;  // rank 0's row 0 (1) averaged with nothing
    want[2] = 1.0f;  // rank 1's row 2 (2) averaged with nothing
    ok &= results[r][3].is_sparse() && dense.allclose(want);
    ok &= gathered[r].equal(torch::stack({torch::full({3}, 1.0f), torch::full({3}, 2.0f)}));
  }
  std::printf("%s distributed: bucketed and sparse averaged all-reduce, all-gather (2 ranks, loopback)\n",
              ok ? "ok  " : "FAIL");
  return ok;
}

// The rendezvous store alone: it listens on the address given only (a second server takes the same port on
// 127.0.0.2, where one bound to every interface would hold it), names a taken port and an address this machine lacks,
// refuses a client without the run's token, and stores, counts, waits and times out.
bool rendezvousChecks() {
  using Millis = std::chrono::milliseconds;
  const int port = 29900 + static_cast<int>(std::random_device{}() % 500);
  const q3::RendezvousAddress at{"127.0.0.1", port};
  const auto soon = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(5); };
  bool ok = true;
  const auto check = [&](bool good, const std::string& what) {
    std::printf("%s rendezvous: %s\n", good ? "ok  " : "FAIL", what.c_str());
    ok &= good;
  };
  q3::RendezvousServer server(at, "secret");
  check(server.boundAddress() == "127.0.0.1", "bound to " + server.boundAddress());
  try {
    q3::RendezvousServer beside({"127.0.0.2", port}, "");
    check(true, "a second server takes the same port on 127.0.0.2");
  } catch (const std::exception& e) {
    check(false, std::string("a second server on 127.0.0.2: ") + e.what());
  }
  std::string code;
  ok &= rejects(
      "a taken port",
      [&] {
        try {
          q3::RendezvousServer again(at, "secret");
        } catch (const q3::CodedError& e) {
          code = e.code();
          throw;
        }
      },
      "port " + std::to_string(port) + " is taken by another program or run on this machine");
  check(code == q3::kPortTaken, "a taken port's code is " + code);
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it.
  ok &= rejects(
      "an address not of this machine",
      [&] {
        q3::RendezvousServer far({"192.0.2.1", port}, "");
      },
      "192.0.2.1 is not an address of this machine");
  ok &= rejects(
      "a client without the token", [&] { q3::RendezvousClient c(at, "", soon()); },
      "refused this rank: this run requires a token and this rank has none: set the same "
      "QWEN3_NATIVE_RENDEZVOUS_TOKEN on every machine");
  ok &= rejects(
      "a client with another token", [&] { q3::RendezvousClient c(at, "secreT", soon()); },
      "refused this rank: this rank's token is not the run's");
  q3::RendezvousClient a(at, "secret", soon()), b(at, "secret", soon());
  const Millis t(2000);
  std::vector<uint8_t> got;
  std::thread waiter([&] { got = b.get("k", t); });  // waits for a key set later, from another connection
  std::this_thread::sleep_for(Millis(50));
  a.set("k", {1, 2, 3}, t);
  waiter.join();
  check(got == std::vector<uint8_t>{1, 2, 3}, "get waits for a key set by another client");
  check(a.add("n", 2, t) == 2 && b.add("n", 3, t) == 5, "add counts over clients");
  check(a.check({"k", "n"}, t) && !a.check({"k", "none"}, t), "check");
  check(a.numKeys(t) == 2 && a.remove("n", t) && !a.remove("n", t) && a.numKeys(t) == 1, "delete and count");
  b.wait({"k"}, t);
  ok &= rejects(
      "wait for a key never set", [&] { b.wait({"never"}, Millis(200)); }, "no answer within 0.2 s");
  return ok;
}

// Two ranks' liveness monitors on one in-memory store: while both beat neither reports; once one stops (as a process
// stopped with SIGSTOP), the other names it within the window and a round.
bool livenessChecks() {
#ifndef QWEN3_TEST_LIVENESS
  std::printf("skip liveness checks: built without Gloo (libgloo-dev)\n");
  return true;
#else
  auto store = c10::make_intrusive<c10d::HashStore>();
  const auto window = std::chrono::milliseconds(400);
  auto a = std::make_unique<q3::Liveness>(store, 0, 2, window);
  auto b = std::make_unique<q3::Liveness>(store, 1, 2, window);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const std::string early = a->failure() + b->failure();
  b.reset();
  const auto stopped = std::chrono::steady_clock::now();
  std::string failure;
  while (failure.empty() && std::chrono::steady_clock::now() - stopped < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    failure = a->failure();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  const bool ok = early.empty() && failure.rfind("rank 1 of 2 gave no sign of life for", 0) == 0 && seconds < 1.0;
  std::printf("%s liveness: both beating, no report; a stopped rank named %.2f s after it stopped (window 0.4 s)%s%s\n",
              ok ? "ok  " : "FAIL", seconds, early.empty() ? "" : "; early: ", early.c_str());
  return ok;
#endif
}

// The CPU pool as a systems component: sizes that would wrap its arithmetic are refused, and a process that forks while
// another thread allocates leaves the child a usable pool (the lock is free on both sides of the fork).
bool cpuPoolChecks() {
  q3::installCpuPool();
  c10::Allocator* pool = c10::GetCPUAllocator();
  int refused = 0;
  for (bool scoped : {false, true}) {
    q3::CpuPoolScope scope(scoped);
    for (size_t n : {SIZE_MAX, SIZE_MAX - 63, SIZE_MAX - 4096}) {
      try {
        c10::DataPtr p = pool->allocate(n);
      } catch (const c10::Error&) {
        refused++;
      }
    }
  }
  bool ok = refused == 6;
  std::printf("%s cpu pool: %d of 6 allocations of SIZE_MAX - 4096 bytes and more refused\n", ok ? "ok  " : "FAIL",
              refused);

  std::atomic<bool> stop{false};
  std::thread busy([&] {
    q3::CpuPoolScope scope;
    while (!stop) c10::DataPtr p = pool->allocate(size_t(1) << 20);  // pooled: each takes and gives the lock
  });
  constexpr int kForks = 40;
  int hung = 0;
  for (int i = 0; i < kForks; ++i) {
    const pid_t child = fork();
    if (child == 0) {
      q3::CpuPoolScope scope;
      c10::DataPtr p = pool->allocate(size_t(1) << 20);
      _exit(p.get() ? 0 : 1);
    }
    int status = 0;
    bool done = false;
    for (int waited = 0; waited < 5000 && !done; waited += 10) {
      done = waitpid(child, &status, WNOHANG) == child;
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!done) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      hung++;
    }
  }
  stop = true;
  busy.join();
  std::printf("%s cpu pool: %d of %d children forked while another thread allocated hung\n", hung ? "FAIL" : "ok  ",
              hung, kForks);
  return ok && hung == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <test/fixtures>\n", argv[0]);
    return 2;
  }
  const std::string fixtures = argv[1];
  bool ok = parserChecks();
  ok &= distributedChecks();
  ok &= livenessChecks();
  ok &= rendezvousChecks();
  try {
    {
      Fixture causal;
      open(causal, fixtures, "tiny-tied-f32");
      ok &= compare("tiny-tied-f32 last-token logits", causal.engine.lastTokenLogits(causal.batch),
                    causal.goldens.at("last_token_logits"), kLogitsTolerance);
      ok &= compare("tiny-tied-f32 embeddings", causal.engine.lastTokenHidden(causal.batch, /*normalize=*/true),
                    causal.goldens.at("embedding"), kEmbeddingTolerance);
      // The same call cut into forward passes by length (one sequence each, then two and a 16-token budget): the
      // rows come back in input order, each as the goldens have it.
      for (const q3::BatchLimits limits : {q3::BatchLimits{1, 0}, q3::BatchLimits{2, 16}}) {
        const std::string cut = " in passes of <= " + std::to_string(limits.maxRows) + " sequences, " +
                                (limits.maxTokens ? std::to_string(limits.maxTokens) : "any") + " tokens";
        ok &= compare("tiny-tied-f32 last-token logits" + cut, causal.engine.lastTokenLogits(causal.batch, limits),
                      causal.goldens.at("last_token_logits"), kLogitsTolerance);
        ok &= compare("tiny-tied-f32 embeddings" + cut, causal.engine.lastTokenHidden(causal.batch, true, limits),
                      causal.goldens.at("embedding"), kEmbeddingTolerance);
      }
    }
    {
      Fixture embedding;
      open(embedding, fixtures, "tiny-embedding-f32");
      ok &= compare("tiny-embedding-f32 embeddings", embedding.engine.lastTokenHidden(embedding.batch, true),
                    embedding.goldens.at("embedding"), kEmbeddingTolerance);
      const bool headless = !embedding.loaded.hasLmHead && embedding.loaded.keyPrefix.empty();
      std::printf("%s tiny-embedding-f32 loads as a Qwen3Model without lm_head\n", headless ? "ok  " : "FAIL");
      ok &= headless;
    }
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
  ok &= cpuPoolChecks();
  return ok ? 0 : 1;
}
