#include "runtime.h"

#include "cpu_pool.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <atomic>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#if defined(QWEN3_NATIVE_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace q3 {

bool cpuHasFastBf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool amxBf16 = (edx >> 22) & 1u;
  const unsigned int maxSubleaf = eax;
  bool avx512Bf16 = false;
  if (maxSubleaf >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    avx512Bf16 = (eax >> 5) & 1u;
  }
  return amxBf16 || avx512Bf16;
#else
  return false;
#endif
}

namespace {
// 0 until initRuntime or setNumThreads chose a count. OpenMP's thread count is a per-thread setting, so every thread
// that runs libtorch work applies it (applyThreadSetting) before it starts.
std::atomic<int> wantedThreads{0};
}  // namespace

void chooseThreads() {
  int expected = 0;
  const unsigned int cores = std::thread::hardware_concurrency();
  wantedThreads.compare_exchange_strong(expected, cores > 0 ? static_cast<int>(cores) : 1);
}

void initRuntime() {
  chooseThreads();
  applyThreadSetting();
}

void applyThreadSetting() {
  const int n = wantedThreads.load();
  if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
}

void releaseFreedMemory(int64_t transientBytes) {
#if defined(__GLIBC__)
  // With the CPU pool (cpu_pool.h) a call's large blocks never reach glibc, so there is nothing worth a trim. This is
  // the QWEN3_NATIVE_CPU_POOL=0 path. Calls under 4 MB do not trim, though a serving process answering many of them
  // keeps growing: its RSS rose 614 -> 707 MiB over 40,000 posts, all of it free blocks glibc kept. Trimming them
  // too, at most once a second, held RSS flat but halved batched serving (1,205 -> 629 requests/s, bench serve): a
  // fragmented heap makes each trim slow (one madvise and TLB flush per free run), and the next calls fault the
  // pages in again. The pool is the fix for both.
  constexpr int64_t kWorthTrimming = int64_t(4) << 20;
  if (transientBytes >= kWorthTrimming && !cpuPoolStats().installed) malloc_trim(0);
#else
  (void)transientBytes;
#endif
}

void setNumThreads(int threads) {
  wantedThreads.store(threads);
  applyThreadSetting();
}

DeviceMemory cudaMemory(int device, bool resetPeak) {
  DeviceMemory m;
#if defined(QWEN3_NATIVE_CUDA)
  if (!torch::cuda::is_available() || device < 0 || device >= static_cast<int>(torch::cuda::device_count())) return m;
  namespace alloc = c10::cuda::CUDACachingAllocator;
  const auto stats = alloc::getDeviceStats(static_cast<c10::DeviceIndex>(device));
  // Index 0 of each StatArray is StatType::AGGREGATE (both pools), in libtorch 1.13 and 2.x alike.
  m.available = true;
  m.allocated = stats.allocated_bytes[0].current;
  m.peakAllocated = stats.allocated_bytes[0].peak;
  m.reserved = stats.reserved_bytes[0].current;
  m.peakReserved = stats.reserved_bytes[0].peak;
  if (resetPeak) alloc::resetPeakStats(static_cast<c10::DeviceIndex>(device));
#else
  (void)device;
  (void)resetPeak;
#endif
  return m;
}

RuntimeInfo runtimeInfo() {
  RuntimeInfo info;
  info.libtorchVersion = TORCH_VERSION;
  info.cudaAvailable = torch::cuda::is_available();
  info.cudaDeviceCount = static_cast<int>(torch::cuda::device_count());
  info.threads = wantedThreads.load() > 0 ? wantedThreads.load() : at::get_num_threads();
  info.cpuBf16 = cpuHasFastBf16();
  return info;
}

}  // namespace q3
