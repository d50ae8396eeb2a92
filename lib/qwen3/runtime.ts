// The runtime every model and classifier of this process shares: where models run (device and dtype options and their
// 'auto' resolution), what libtorch can do here, compute threads, and the memory counters (CPU pool, CUDA peak).
import { expectPositiveInteger } from '../util/is';
import { loadNative, nativeRuntimeInfo, type CpuPoolStats, type Device, type DType, type RuntimeInfo } from '../native';
import type { LoadOptions } from './schema';

export {
  DEVICE_OPTIONS,
  DTYPE_OPTIONS,
  parseDevice,
  type DeviceOption,
  type DTypeOption,
  type LoadOptions,
} from './schema';

/** The CUDA device index of a device: 0 for 'cuda', N for 'cuda:N', undefined for the CPU. */
export function cudaIndex(device: Device): number | undefined {
  if (device === 'cpu') return undefined;
  return device === 'cuda' ? 0 : Number(device.slice('cuda:'.length));
}

export function runtimeInfo(): RuntimeInfo {
  return nativeRuntimeInfo();
}

/** Counters of the pool the CPU tensors come from (csrc/core/cpu_pool.h): bytes held by tensors and kept for reuse. */
export function cpuPoolStats(): CpuPoolStats {
  return loadNative().cpuPool();
}

/**
 * Peak bytes the CUDA caching allocator has held on device 0 (torch.cuda.max_memory_allocated), or null when there
 * is no CUDA device or the addon was built without the counters. reset: start a new peak after reading.
 */
export function peakGpuMemory(reset = false): number | null {
  const native = loadNative();
  if (!native.cudaMemory || !native.runtimeInfo().cudaAvailable) return null;
  const m = native.cudaMemory(0, reset);
  return m.available ? m.peakAllocated : null;
}

/**
 * Sets the intra-op threads of every model in this process (default: the machine's cores). Fewer leave cores to the
 * JS thread, e.g. a server's HTTP work; takes effect from the next native call.
 */
export function setComputeThreads(threads: number): void {
  expectPositiveInteger(threads, 'threads');
  const native = loadNative();
  native.runtimeInfo(); // the one-time runtime setup (threads = cores) runs first, so this count is the one that stays
  native.setNumThreads(threads);
}

/**
 * 'auto' device: CUDA (device 0) when libtorch sees one. 'auto' dtype: bf16 on CUDA or on CPUs with native bf16,
 * else f32. A CUDA device that is absent fails here, naming the devices there are.
 */
export function resolveDeviceAndDtype(
  options: LoadOptions,
  info: RuntimeInfo = runtimeInfo()
): { device: Device; dtype: DType } {
  const device: Device =
    options.device === undefined || options.device === 'auto' ? (info.cudaAvailable ? 'cuda' : 'cpu') : options.device;
  const index = cudaIndex(device);
  if (index !== undefined && !info.cudaAvailable) {
    throw new Error(
      `device '${device}' requested but this libtorch (${info.libtorchVersion}) sees no CUDA device; use device 'cpu' or 'auto'`
    );
  }
  if (index !== undefined && index >= info.cudaDeviceCount) {
    const n = info.cudaDeviceCount;
    throw new Error(
      `device '${device}' requested but this libtorch sees ${n} CUDA device${n === 1 ? '' : 's'} (${n === 1 ? 'cuda:0' : `cuda:0 to cuda:${n - 1}`}); use one of them, 'cuda' (the first) or 'auto'`
    );
  }
  let dtype: DType;
  if (options.dtype === undefined || options.dtype === 'auto') {
    dtype = index !== undefined || info.cpuBf16 ? 'bfloat16' : 'float32';
  } else {
    dtype = options.dtype;
  }
  const major = Number.parseInt(info.libtorchVersion, 10);
  if (device === 'cpu' && dtype === 'float16' && major < 2) {
    throw new Error(
      `dtype 'float16' on CPU needs libtorch 2.x (this is ${info.libtorchVersion}, which has no CPU float16 matmul); use 'bfloat16' or 'float32'`
    );
  }
  return { device, dtype };
}
