// What this process's libtorch can do, and thread setup.
#pragma once

#include <cstdint>
#include <string>

namespace q3 {

struct RuntimeInfo {
  std::string libtorchVersion;
  bool cudaAvailable = false;
  int cudaDeviceCount = 0;
  int threads = 1;
  bool cpuBf16 = false;
};

// Chooses intra-op threads = the machine's cores unless setNumThreads chose already (Debian's libtorch starts at 1
// on some machines), and applies the choice on the calling thread.
void initRuntime();
// The choice alone, without touching the calling thread's libtorch state: for the JS thread, where setting the
// thread count (at::set_num_threads starts a thread team) cost 50-80 ms of event-loop time while no libtorch work
// ever runs there (the compute thread applies the choice before each job).
void chooseThreads();
// Applies the chosen thread count on the calling thread (OpenMP keeps it per thread).
void applyThreadSetting();
RuntimeInfo runtimeInfo();
// Chooses the intra-op thread count for all later work.
void setNumThreads(int threads);
// Without the CPU pool (QWEN3_NATIVE_CPU_POOL=0; cpu_pool.h), hands memory freed by an inference call back to the
// system. glibc keeps activation-sized blocks in its arenas
// once its mmap threshold has grown; trimming after a call (not fixing the threshold, which made every forward pay
// page faults: measured 25-40% slower) keeps a serving process near the size of its weights. A trim costs 1-2 ms, as
// much as a whole forward of a tiny model, so calls whose transient memory was small skip it.
void releaseFreedMemory(int64_t transientBytes);
// AVX512-BF16 or AMX-BF16, read from CPUID (never assumed: many x86 CPUs lack both).
bool cpuHasFastBf16();

// The CUDA caching allocator's byte counters for one device, as torch.cuda.memory_allocated/max_memory_allocated
// and memory_reserved/max_memory_reserved report them (the benchmark compares them with PyTorch's own).
struct DeviceMemory {
  bool available = false;  // false: a libtorch without CUDA, or a build without the counters (QWEN3_NATIVE_CUDA)
  int64_t allocated = 0, peakAllocated = 0, reserved = 0, peakReserved = 0;
};
// Reads the counters of CUDA device `device`; resetPeak then starts new peaks from the current values.
DeviceMemory cudaMemory(int device, bool resetPeak);

}  // namespace q3
