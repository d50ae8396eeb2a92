#include "device.h"

#include <cstring>

namespace q3 {

at::ScalarType parseDtype(const std::string& dtype) {
  if (dtype == "float32") return torch::kFloat;
  if (dtype == "bfloat16") return torch::kBFloat16;
  if (dtype == "float16") return torch::kHalf;
  throw std::invalid_argument("unknown dtype " + dtype);
}

torch::Device parseDevice(const std::string& device) {
  if (device == "cpu") return torch::kCPU;
  const std::string cuda = "cuda";
  if (device.compare(0, cuda.size(), cuda) == 0) {
    int64_t index = 0;
    if (device.size() > cuda.size()) {
      const std::string digits = device.substr(cuda.size() + 1);
      if (device[cuda.size()] != ':' || digits.empty() || digits.size() > 3 ||
          digits.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("unknown device " + device + " (expected cpu, cuda or cuda:N)");
      index = std::stoll(digits);
    }
    if (!torch::cuda::is_available())
      throw std::runtime_error("CUDA was requested (" + device + ") but this libtorch sees no CUDA device");
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (index >= count)
      throw std::runtime_error("device " + device + " requested but this libtorch sees " + std::to_string(count) +
                               " CUDA device" + (count == 1 ? "" : "s") +
                               " (cuda:0 to cuda:" + std::to_string(count - 1) + ")");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw std::invalid_argument("unknown device " + device + " (expected cpu, cuda or cuda:N)");
}

torch::Tensor hostBuffer(at::IntArrayRef sizes, at::ScalarType dtype, const torch::Device& device) {
  return torch::empty(sizes, torch::TensorOptions().dtype(dtype).pinned_memory(device.is_cuda()));
}

torch::Tensor toDevice(const torch::Tensor& host, const torch::Device& device) {
  if (device.is_cpu()) return host;
  return host.to(device, /*non_blocking=*/host.is_pinned());
}

torch::Tensor longTensor(const std::vector<int64_t>& values, const torch::Device& device) {
  torch::Tensor host = hostBuffer({static_cast<int64_t>(values.size())}, torch::kLong, device);
  if (!values.empty()) std::memcpy(host.data_ptr<int64_t>(), values.data(), values.size() * sizeof(int64_t));
  return toDevice(host, device);
}

torch::Tensor toHostFloat(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kFloat).contiguous();
  if (!c.is_cuda()) return c.to(torch::kCPU);
  // Into page-locked memory: a direct DMA copy (pageable memory goes through a staging copy), blocking because the
  // values are read right after.
  torch::Tensor host = hostBuffer(c.sizes(), torch::kFloat, c.device());
  host.copy_(c);
  return host;
}

std::vector<float> toFloatVector(const torch::Tensor& t) {
  const torch::Tensor c = toHostFloat(t);
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

torch::Tensor rowsAt(const torch::Tensor& hidden, const torch::Tensor& index) {
  torch::Tensor rows =
      torch::arange(hidden.size(0), torch::TensorOptions().dtype(torch::kLong).device(hidden.device()));
  return hidden.index({rows, index});
}

torch::Tensor unitRows(const torch::Tensor& rows) { return rows / rows.norm(2, -1, true).clamp_min(1e-12); }

}  // namespace q3
