// A pooling CPU allocator for libtorch's CPU tensors: during inference calls (CpuPoolScope), blocks of kPooledFrom
// bytes or more come from mmap and, once freed, wait in a bounded cache for the next request they fit; everything
// else is plain posix_memalign, as with libtorch's own allocator.
//
// Why not glibc (libtorch's default): a process answering calls whose shapes keep changing (serving, 1-64 posts of
// any length) keeps growing under glibc. Its dynamic mmap threshold rises to 32 MB after the first large free, so
// activation-sized blocks land in the arenas, where free runs between live blocks are never returned: serve's RSS
// rose 585 -> 801 MiB from 10,000 to 100,000 requests (+36.8%, bench serve), and trimming after every call held it
// flat only at half the throughput (1,205 -> 629 requests/s). Fixing the threshold low makes every forward fault its
// pages in again (25-40% slower). Reusing freed blocks by size, with a byte cap on what waits, keeps both: pages
// stay faulted in for the next call, and the cap bounds what is kept.
// Why hand-written: c10's own CPU caching allocator exists only in mobile builds and caches each exact size forever;
// jemalloc or tcmalloc would need LD_PRELOAD or a new runtime dependency of the prebuilt addons.
#pragma once

#include <cstdint>

namespace q3 {

struct CpuPoolStats {
  bool installed = false;
  int64_t inUse = 0;      // bytes of pooled blocks held by tensors now
  int64_t peakInUse = 0;  // the most inUse has been
  int64_t cached = 0;     // bytes of freed pooled blocks waiting for reuse (resident: their pages stay faulted in)
  int64_t cacheLimit = 0;
  int64_t reused = 0;    // requests served from the cache
  int64_t mapped = 0;    // requests that had to map a new block
  int64_t released = 0;  // cached blocks unmapped to stay under the limit
};

// Makes the pool libtorch's CPU allocator for every tensor allocated after the call (those allocated before keep
// their own deleter). Once per process; later calls do nothing. QWEN3_NATIVE_CPU_POOL=<MB> sets the cache's cap
// (default 64), QWEN3_NATIVE_CPU_POOL=0 leaves glibc in place.
void installCpuPool();
CpuPoolStats cpuPoolStats();

// While one is alive (and enabled), this thread's large allocations come from the pool: inference calls, whose shapes
// change from call to call. Training steps stay on glibc, whose heap splits and merges free blocks, which a pool of
// whole blocks cannot: the scratch example's epoch on 3,000 posts ran 10,200 training tokens/s on glibc, 3,027 with
// every allocation pooled under the 64 MB cap (9,509 blocks mapped and unmapped again), and 8,348 under a 1 GB cap
// (peak RSS 1.78 GB against glibc's 1.15). Freeing goes to the right place wherever it happens.
class CpuPoolScope {
 public:
  explicit CpuPoolScope(bool enable = true);
  ~CpuPoolScope();
  CpuPoolScope(const CpuPoolScope&) = delete;
  CpuPoolScope& operator=(const CpuPoolScope&) = delete;

 private:
  bool previous_;
};

}  // namespace q3
