#include "device.h"

namespace q3 {

at::ScalarType parseDtype(const std::string& dtype) {
  if (dtype == "float32") return torch::kFloat;
  if (dtype == "bfloat16") return torch::kBFloat16;
  if (dtype == "float16") return torch::kHalf;
  throw std::invalid_argument("unknown dtype " + dtype);
}

torch::Device parseDevice(const std::string& device) {
  if (device == "cpu") return torch::kCPU;
  if (device == "cuda") {
    if (!torch::cuda::is_available())
      throw std::runtime_error("CUDA was requested but this libtorch sees no CUDA device");
    return torch::Device(torch::kCUDA, 0);
  }
  throw std::invalid_argument("unknown device " + device);
}

std::vector<float> toFloatVector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat).contiguous();
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
