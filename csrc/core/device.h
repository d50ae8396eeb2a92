// Device/dtype names as the TypeScript layer spells them, and the helpers that keep every tensor of a call on the
// model's device: host staging buffers (page-locked for CUDA, so copies in are asynchronous) and copies out.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace q3 {

// "float32" | "bfloat16" | "float16"
at::ScalarType parseDtype(const std::string& dtype);
// "cpu" | "cuda" (CUDA device 0) | "cuda:N". Throws when a CUDA device is asked for but absent.
torch::Device parseDevice(const std::string& device);

// Makes a CUDA device current for the scope (kernels, streams, the staging buffers' context); nothing otherwise.
class DeviceScope {
 public:
  explicit DeviceScope(const torch::Device& device) {
    if (device.is_cuda()) guard_.reset_device(device);
  }

 private:
  c10::OptionalDeviceGuard guard_;
};

// A CPU tensor to fill and send to `device`: page-locked when `device` is CUDA.
torch::Tensor hostBuffer(at::IntArrayRef sizes, at::ScalarType dtype, const torch::Device& device);
// A host tensor on `device`. From a page-locked buffer the copy is asynchronous (no host sync); the caching host
// allocator holds the buffer until the copy has run. The tensor itself when `device` is the CPU.
torch::Tensor toDevice(const torch::Tensor& host, const torch::Device& device);
// int64 values on `device`, through a staging buffer.
torch::Tensor longTensor(const std::vector<int64_t>& values, const torch::Device& device);
// A tensor as a contiguous float32 CPU tensor (through page-locked memory from CUDA).
torch::Tensor toHostFloat(const torch::Tensor& t);
// A tensor's values as float32 on the host.
std::vector<float> toFloatVector(const torch::Tensor& t);
// hidden[b, index[b]] for each row b: [B, T, ...] x [B] -> [B, ...]
torch::Tensor rowsAt(const torch::Tensor& hidden, const torch::Tensor& index);
// Each row of a float32 [B, H] tensor divided by its L2 norm (Qwen3-Embedding's normalisation).
torch::Tensor unitRows(const torch::Tensor& rows);

}  // namespace q3
