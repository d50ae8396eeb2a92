#include "cpu_pool.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <pthread.h>
#include <sys/mman.h>
#include <torch/version.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <vector>

namespace q3 {
namespace {

// Every block starts with this header; the tensor's data follows it, 64-byte aligned as c10 requires (gAlignment).
struct alignas(64) Header {
  size_t blockBytes;  // the mapping's length; 0: a small block from posix_memalign
  uint64_t magic;
};
constexpr uint64_t kMagic = 0x71776e33706f6f6cULL;  // "qwn3pool"
constexpr size_t kHeader = sizeof(Header);
static_assert(kHeader == 64, "data must stay 64-byte aligned");
constexpr size_t kPage = 4096;

// Blocks from 64 KB up are pooled. Smaller ones are too many to pool cheaply and fragment little.
constexpr size_t kPooledFrom = size_t(64) << 10;

// What may wait in the cache, and how loose a fit may be. Measured on the serve benchmark's Predictor alone (the tiny
// lora run, calls of 1-64 posts, 30,000 posts, load average 3): pooled blocks in use peak at 78 MB.
//   cache 64 MB, a block up to 2x the request:    RSS 526 -> 524 MiB from 10,000 to 30,000 posts, 210 posts/s
//   cache 128 MB, up to 2x:                        574 -> 582 MiB, 217 posts/s
//   cache 64 MB, up to 1.25x:                      521 -> 532 MiB, 165 posts/s (5,848 blocks mapped, against 245)
//   cache 256 MB, up to 1.25x:                     701 -> 706 MiB, 211 posts/s
//   glibc (QWEN3_NATIVE_CPU_POOL=0):               552 -> 659 MiB and still rising, 210 posts/s
// A loose fit wastes little: only the pages a tensor touches become resident.
constexpr size_t kDefaultCacheMb = 64;
constexpr size_t kLoosestFit = 2;

// QWEN3_NATIVE_CPU_POOL: unset, the default cache; a number, that many MB of cache; 0, no pool (glibc). Read as the
// addon loads; lib/native.ts (checkCpuPoolSetting) has refused anything but digits before loading it.
size_t poolSetting() {
  const char* v = std::getenv("QWEN3_NATIVE_CPU_POOL");
  return (v == nullptr || *v == '\0') ? kDefaultCacheMb : std::strtoul(v, nullptr, 10);
}

thread_local bool pooledHere = false;

class Pool final : public c10::Allocator {
 public:
  explicit Pool(size_t limit) : limit_(limit) {}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return take(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const override { return const_cast<Pool*>(this)->take(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &Pool::give; }

  CpuPoolStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    CpuPoolStats s = stats_;
    s.installed = true;
    s.cacheLimit = static_cast<int64_t>(limit_);
    return s;
  }

  static Pool* instance;

  // fork() in an embedding process (Node's own spawn execs at once): a child forked while another thread held the
  // lock would wait for it forever in its first pooled allocation (58 of 80 forks measured). The forking thread takes
  // the lock around the fork, so both sides start with it free.
  static void lockForFork() {
    if (instance) instance->mu_.lock();
  }
  static void unlockAfterFork() {
    if (instance) instance->mu_.unlock();
  }

 private:
  // One freed block waiting, found by size (best fit) and by age (the oldest goes first when over the limit).
  using BySize = std::multimap<size_t, char*>;
  BySize free_;
  std::list<BySize::iterator> age_;  // front: freed longest ago
  std::map<char*, std::list<BySize::iterator>::iterator> ageOf_;
  std::mutex mu_;
  CpuPoolStats stats_;
  const size_t limit_;

  c10::DataPtr take(size_t n) {
    // The header and the page rounding must not wrap: allocate(SIZE_MAX) would otherwise get a 63-byte block.
    if (n > SIZE_MAX - kHeader - kPage) fail(n, ENOMEM);
    char* base = nullptr;
    if (!pooledHere || n + kHeader < kPooledFrom) {
      void* p = nullptr;
      if (posix_memalign(&p, kHeader, n + kHeader) != 0 || p == nullptr) fail(n, ENOMEM);
      base = static_cast<char*>(p);
      new (base) Header{0, kMagic};
    } else {
      const size_t bytes = (n + kHeader + kPage - 1) / kPage * kPage;
      base = reuse(bytes);
      if (base == nullptr) {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) fail(n, errno);
        base = static_cast<char*>(p);
        new (base) Header{bytes, kMagic};
        std::lock_guard<std::mutex> lock(mu_);
        stats_.mapped++;
        stats_.inUse += static_cast<int64_t>(bytes);
        if (stats_.inUse > stats_.peakInUse) stats_.peakInUse = stats_.inUse;
      }
    }
    char* data = base + kHeader;
    return {data, data, &Pool::give, c10::Device(c10::DeviceType::CPU)};
  }

  [[noreturn]] static void fail(size_t n, int err) {
    TORCH_CHECK(false, "cpu pool: cannot allocate ", n, " bytes: ", std::strerror(err));
  }

  // The smallest cached block of at least `bytes`, if it is at most kLoosestFit times that.
  char* reuse(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.lower_bound(bytes);
    if (it == free_.end() || it->first > bytes * kLoosestFit) return nullptr;
    char* base = it->second;
    const size_t size = it->first;
    forget(it);
    stats_.cached -= static_cast<int64_t>(size);
    stats_.reused++;
    stats_.inUse += static_cast<int64_t>(size);
    if (stats_.inUse > stats_.peakInUse) stats_.peakInUse = stats_.inUse;
    return base;
  }

  void forget(BySize::iterator it) {
    auto a = ageOf_.find(it->second);
    age_.erase(a->second);
    ageOf_.erase(a);
    free_.erase(it);
  }

  void put(char* base, size_t bytes) {
    std::vector<std::pair<char*, size_t>> unmap;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.inUse -= static_cast<int64_t>(bytes);
      auto it = free_.emplace(bytes, base);
      age_.push_back(it);
      ageOf_.emplace(base, std::prev(age_.end()));
      stats_.cached += static_cast<int64_t>(bytes);
      while (static_cast<size_t>(stats_.cached) > limit_ && !age_.empty()) {
        auto oldest = age_.front();
        unmap.emplace_back(oldest->second, oldest->first);
        stats_.cached -= static_cast<int64_t>(oldest->first);
        stats_.released++;
        forget(oldest);
      }
    }
    for (auto& [p, size] : unmap) munmap(p, size);
  }

  static void give(void* data) {
    if (data == nullptr) return;
    char* base = static_cast<char*>(data) - kHeader;
    const Header* h = reinterpret_cast<const Header*>(base);
    TORCH_INTERNAL_ASSERT(h->magic == kMagic, "cpu pool: freeing a block it did not allocate");
    if (h->blockBytes == 0) std::free(base);
    else instance->put(base, h->blockBytes);
  }
};

Pool* Pool::instance = nullptr;

}  // namespace

void installCpuPool() {
  static std::once_flag once;
  std::call_once(once, [] {
    const size_t mb = poolSetting();
    if (mb == 0) return;
    // Never destroyed: tensors freed during exit (static ones of libtorch included) still call into it.
    Pool::instance = new Pool(mb << 20);
    pthread_atfork(&Pool::lockForFork, &Pool::unlockAfterFork, &Pool::unlockAfterFork);
    // Priority 1: above c10's default CPU allocator (registered at 0).
    c10::SetCPUAllocator(Pool::instance, 1);
  });
}

CpuPoolScope::CpuPoolScope(bool enable) : previous_(pooledHere) { pooledHere = previous_ || enable; }
CpuPoolScope::~CpuPoolScope() { pooledHere = previous_; }

CpuPoolStats cpuPoolStats() { return Pool::instance ? Pool::instance->stats() : CpuPoolStats{}; }

}  // namespace q3
