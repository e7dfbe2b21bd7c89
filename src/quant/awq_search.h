// The arithmetic of AWQ (Lin et al., "AWQ: Activation-aware Weight
// Quantization for LLM Compression and Acceleration", 2023) on a weight grid
// (weight_grid.h). Weights that read the same input x (a "group", e.g. the
// q, k and v projections after one RMSNorm) share one scale per input
// feature,
//
//   s_k = m_k^alpha / sqrt(max_j m_j^alpha * min_j m_j^alpha),  m_k = mean |x_k|,
//
// each weight W ([n, K], output x input features) is quantized as
// Q(W diag(s)) and the input is divided by s, so the layer computes
// x diag(1/s) Q(W diag(s))^T. Features with large inputs get finer steps.
// alpha is searched on a grid, minimising the group's summed output error
// sum_i ||X (W_i - W'_i)^T||^2 with W'_i = Q(W_i diag(s)) diag(1/s),
// measured as tr(D H D^T) with H = X^T X (no activations kept). alpha = 0
// gives s = 1, plain round-to-nearest: the chosen alpha is never worse than
// round-to-nearest on the calibration data.
#ifndef PQ_QUANT_AWQ_SEARCH_H_
#define PQ_QUANT_AWQ_SEARCH_H_

#include <Eigen/Core>

#include <cstdint>
#include <vector>

#include "quant/weight_grid.h"

namespace pq::quant {

// alpha is tried at 0, 1/kAwqGridSteps, ..., 1.
inline constexpr int kAwqGridSteps = 20;
// Input magnitudes below this share of the largest are raised to it, so that
// a feature that was (almost) 0 on every row gets a finite scale.
inline constexpr double kAwqMinMagnitudeRatio = 1e-5;

// One weight of a group: [n, k] row-major, finite, on its scheme's grid.
struct AwqWeight {
  const float* w = nullptr;
  int64_t n = 0;
  const WeightGrid* grid = nullptr;
};

struct AwqChoice {
  double alpha = 0;
  std::vector<float> scales;  // K; all 1 when alpha is 0
  // Per weight of the group (in order): ||X (W - W')^T||^2 / ||X W^T||^2
  // with round-to-nearest (alpha 0) and with the chosen alpha; negative when
  // ||X W^T|| is 0.
  std::vector<double> error_rtn, error_awq;
  // The group's summed (absolute) output error for every alpha tried.
  std::vector<double> error_by_alpha;
};

// The scales for input magnitudes `mean_abs` (K, >= 0) and `alpha`, as
// above. All 1 when alpha is 0 or every magnitude is 0.
std::vector<float> AwqScales(const Eigen::VectorXd& mean_abs, double alpha);

// W' = Q(W diag(s)) diag(1/s) for [n, k] `w`: what the layer effectively
// multiplies its original input by after scaling and rounding on `grid`.
std::vector<float> AwqRoundTrip(const WeightGrid& grid, const float* w, int64_t n, int64_t k,
                                const std::vector<float>& scales);

// Searches alpha for the group `weights` (each [n_i, k], rounded on its own
// grid) reading an input
// with X^T X `h` (k x k) and magnitudes `mean_abs` (k). Ties go to the
// smaller alpha. `threads`: 0 = all cores; the result does not depend on it.
AwqChoice AwqSearch(const std::vector<AwqWeight>& weights, int64_t k,
                    const Eigen::MatrixXd& h, const Eigen::VectorXd& mean_abs, int threads);

}  // namespace pq::quant

#endif  // PQ_QUANT_AWQ_SEARCH_H_
