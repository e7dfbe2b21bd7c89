// The arithmetic of GPTQ (Frantar et al., "GPTQ: Accurate Post-Training
// Quantization for Generative Pre-trained Transformers", 2022) on a weight
// grid (weight_grid.h: the blockwise 4-bit schemes, the int8 schemes' per-channel
// or per-tensor grid). For a weight seen as [n, k] (output x input
// features) and H = X^T X of its input, GPTQ quantizes the k columns one at
// a time and spreads each column's error over the columns not yet quantized
// so that ||X (W - Q)^T||^2 stays small:
//
//   U = upper Cholesky factor of (H + lambda I)^-1   (H^-1 = U^T U)
//   for each column j:  q_j = grid(w_j);  e = (w_j - q_j) / U_jj;
//                       w_t -= e * U_jt  for every later column t
//
// with the later-column updates batched over `lazy_batch` columns (one GEMM
// per batch). Rows are independent, so they are processed in fixed chunks:
// the result does not depend on the number of threads.
#ifndef PQ_QUANT_GPTQ_SOLVER_H_
#define PQ_QUANT_GPTQ_SOLVER_H_

#include <Eigen/Core>

#include <cstdint>
#include <optional>
#include <vector>

#include "pq/status.h"
#include "quant/scheme.h"
#include "quant/weight_grid.h"

namespace pq::quant {

using RowMajorMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct GptqSettings {
  // lambda = damp x mean(diag H).
  double damp = 0.01;
  // Columns in order of decreasing H_jj (the inputs with the most energy
  // first); block parameters are then fitted from the original weights
  // before any update ("static groups"), as a column's block may be reached
  // at any time. Static groups are also used when the blocks do not follow
  // the rows (nf4 with K not a multiple of its block, a per-tensor grid) and
  // when a block is a whole row (a per-channel grid, GPTQ's groupsize -1:
  // the block is fitted before any update reaches it either way).
  bool act_order = false;
  // Columns per lazy batch (raised to a multiple of the block size, so that
  // a block is fitted from weights that already hold every earlier update).
  int64_t lazy_batch = 128;
  int threads = 0;  // 0 = all cores
};

// The columns per lazy batch GPTQ uses for `lazy_batch` and blocks of
// `block_size`: lazy_batch raised to a multiple of block_size.
int64_t LazyBatchFor(int64_t lazy_batch, int64_t block_size);

// The inverse factor GPTQ walks the columns with, for H (k x k, symmetric,
// in the column order it will walk). Inputs never seen (H_jj = 0) get
// H_jj = 1, which leaves their columns rounded to nearest with no error
// passed on (their weights are kept, unlike the reference implementation,
// which sets them to 0: on the calibration data either choice costs nothing,
// and an input silent there may not be silent elsewhere).
struct GptqFactor {
  RowMajorMatrixXd u;   // upper triangular, (H + lambda I)^-1 = U^T U
  double lambda = 0;    // the dampening added to the diagonal
  int64_t dead_inputs = 0;
};
// Errors (kInvalidInput, saying why): H with a non-finite value; H + lambda I
// not positive definite (still singular after dampening).
Result<GptqFactor> FactorHessian(Eigen::MatrixXd h, double damp);

// The column order act-order walks: decreasing diag(h), ties by index.
std::vector<int64_t> ActOrder(const Eigen::MatrixXd& h);

// `h` with rows and columns taken in `order` (h'[i][j] = h[order[i]][order[j]]).
Eigen::MatrixXd Permuted(const Eigen::MatrixXd& h, const std::vector<int64_t>& order);

struct GptqRounded {
  std::vector<float> values;         // [n, k] on the grid, original column order
  std::vector<BlockParams> params;   // grid.BlockCount(n, k), in block order
  bool static_groups = false;        // params fitted from the original weights
  int64_t lazy_batch = 0;            // the columns per lazy batch used
};

// GPTQ of the [n, k] weight `w` (row-major, finite) on `grid`, walking the
// columns in `order` (empty = 0, 1, ..., k - 1), with `factor` made from H
// permuted the same way. REQUIRES: factor.u is k x k.
GptqRounded GptqRound(const WeightGrid& grid, const float* w, int64_t n, int64_t k,
                      const GptqFactor& factor, const std::vector<int64_t>& order, const GptqSettings& settings);

// The output error traces of `w` and `qs` on the data of `h`: element 0 is
// tr(W H W^T) = ||X W^T||^2, element 1 + c is tr((W - Q_c) H (W - Q_c)^T)
// = ||X (W - Q_c)^T||^2, for [n, k] row-major `w` and `qs`; summed in a
// fixed order (the same for every thread count).
std::vector<double> OutputErrorTraces(const float* w, const std::vector<const float*>& qs, int64_t n, int64_t k,
                                      const Eigen::MatrixXd& h, int threads);

// The relative error that each of `qs` gives the layer's output on the
// data of `h`: ||X (W - Q)^T||^2 / ||X W^T||^2 = tr((W - Q) H (W - Q)^T) /
// tr(W H W^T), for [n, k] row-major `w` and `qs`. Empty when tr(W H W^T) is
// not positive (a zero weight, or inputs that were all 0).
std::optional<std::vector<double>> RelativeOutputErrors(const float* w, const std::vector<const float*>& qs,
                                                        int64_t n, int64_t k, const Eigen::MatrixXd& h,
                                                        int threads);

}  // namespace pq::quant

#endif  // PQ_QUANT_GPTQ_SOLVER_H_
