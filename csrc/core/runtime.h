// What this process's libtorch can do, and thread setup.
#pragma once

#include <string>

namespace q3 {

struct RuntimeInfo {
  std::string libtorchVersion;
  bool cudaAvailable = false;
  int cudaDeviceCount = 0;
  int threads = 1;
  bool cpuBf16 = false;
};

// Sets intra-op threads to the machine's cores once (Debian's libtorch starts at 1 on some machines).
void initRuntime();
RuntimeInfo runtimeInfo();
void setNumThreads(int threads);
// AVX512-BF16 or AMX-BF16, read from CPUID (never assumed: many x86 CPUs lack both).
bool cpuHasFastBf16();

}  // namespace q3
