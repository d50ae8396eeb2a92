// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with its state exposed as
// named tensors so a checkpoint can be written to safetensors and resumed bit-for-bit.
//
// Row-wise parameters (an embedding table trained from scratch: 151,936 rows, of which a batch of Weibo posts looks
// up a few hundred) take a sparse gradient and are updated row by row with the SAME result as the dense update, not
// torch.optim.SparseAdam's (which leaves rows outside the batch alone and has no weight decay):
//   - a row becomes "active" the first time a forward reads it (touchRows); from then on every step updates it with
//     the dense formula (zero gradient when the batch does not use it: its moments decay and it keeps moving, as in
//     dense AdamW);
//   - a row never read has zero moments, for which the dense update is the weight decay alone, p *= (1 - lr wd): that
//     product is kept as one number and applied when the row is first read, or to every such row by flush() (before
//     prediction and saving). Equal to dense AdamW up to float32 rounding of that product.
// Why: in examples/full-from-scratch.js (4 layers x 128) the table is 19.4M of the model's 20.2M values (96%), and a
// batch of 32 posts reads a few hundred of its rows; dense AdamW passes over all of them every step.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace q3 {

// No defaults here: the binding always sets every field, from lib/classifier/native-spec.ts (ADAMW: torch.optim.AdamW's
// betas and eps) and the Trainer's weightDecay option, where the values are stated once.
struct AdamWOptions {
  double beta1 = 0;
  double beta2 = 0;
  double eps = 0;
  double weightDecay = 0;
};

class AdamW {
 public:
  // rowWise: names (in params) of [rows, width] tensors updated row-wise, as above.
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options,
        const std::vector<std::string>& rowWise = {});
  // Clips the global gradient norm to maxGradNorm (when > 0), updates, zeroes gradients; returns the norm before
  // clipping.
  double step(double lr, double maxGradNorm);
  void zeroGrad();
  // Rows `rows` (int64 ids, any shape, repeats allowed) of row-wise parameter `name` are about to be read by a
  // forward: their pending weight decay is applied and they are active from now on. Other names: nothing to do.
  void touchRows(const std::string& name, const torch::Tensor& rows);
  // Applies every pending weight decay, so the parameters hold their dense-AdamW values (before they are read by
  // prediction or saved).
  void flush();
  // "<name>.exp_avg", "<name>.exp_avg_sq" and "__step__".
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void loadState(const std::vector<std::pair<std::string, torch::Tensor>>& state);

 private:
  struct RowWise {
    size_t param = 0;
    torch::Tensor position;     // [rows] int64: index of the row in `active`, -1 while inactive
    torch::Tensor active;       // [count] int64: the active rows
    double pendingDecay = 1.0;  // product of (1 - lr wd) not yet applied to the inactive rows
  };
  void activate(RowWise& r, const torch::Tensor& rows);
  void updateRowWise(RowWise& r, const torch::Tensor& grad, double lr, double stepSize, double bc2Sqrt);
  void update(torch::Tensor p, const torch::Tensor& g, torch::Tensor m, torch::Tensor v, double lr, double stepSize,
              double bc2Sqrt) const;
  RowWise* rowWise(size_t param);

  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> expAvg_, expAvgSq_;
  std::vector<RowWise> rowWise_;
  AdamWOptions options_;
  int64_t step_ = 0;
};

}  // namespace q3
