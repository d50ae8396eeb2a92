// Device/dtype names as the TypeScript layer spells them, and small tensor helpers shared by the entry points.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace q3 {

// "float32" | "bfloat16" | "float16"
at::ScalarType parseDtype(const std::string& dtype);
// "cpu" | "cuda" (first CUDA device); throws when CUDA is asked for but absent.
torch::Device parseDevice(const std::string& device);
// Copies a tensor to a float32 host vector.
std::vector<float> toFloatVector(const torch::Tensor& t);
// hidden[b, index[b]] for each row b: [B, T, ...] x [B] -> [B, ...]
torch::Tensor rowsAt(const torch::Tensor& hidden, const torch::Tensor& index);
// Each row of a float32 [B, H] tensor divided by its L2 norm (Qwen3-Embedding's normalisation).
torch::Tensor unitRows(const torch::Tensor& rows);

}  // namespace q3
