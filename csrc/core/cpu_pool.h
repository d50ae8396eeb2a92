// A pooling CPU allocator for libtorch's CPU tensors: blocks of kPooledFrom bytes or more come from mmap and, once
// freed, wait in a bounded cache for the next request they fit; smaller ones are plain posix_memalign.
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

}  // namespace q3
