// SmoothQuant's scale rule (Xiao et al., 2023, "SmoothQuant: Accurate and
// Efficient Post-Training Quantization for Large Language Models"): the
// activation outliers of a MatMul input are moved into its weight by a
// per-input-channel scale s, X <- X diag(1/s), W <- diag(s) W, with
//   s_j = max|X_j|^alpha / max|W_j|^(1 - alpha).
// The rewrite itself is AWQ's (awq_fold.h); this file holds the numbers.
#ifndef PQ_QUANT_SMOOTHQUANT_H_
#define PQ_QUANT_SMOOTHQUANT_H_

#include <cstdint>
#include <vector>

namespace pq::quant {

// A channel whose activation or weight magnitude is below this is left
// unscaled (s_j = 1): its ratio says nothing, and dividing a nearly dead
// channel's bias by a tiny s would blow it up.
inline constexpr float kSmoothQuantMinMagnitude = 1e-5f;

// The scales for one MatMul input: act_max[j] = max|X_j| over the
// calibration rows, weight_max[j] = max|W_j| over every weight reading the
// input (their input row j). REQUIRES: equal sizes, alpha in [0, 1].
// s_j is 1 where either magnitude is below kSmoothQuantMinMagnitude (or not
// finite); otherwise the rule above, computed in double.
std::vector<float> SmoothQuantScales(const std::vector<float>& act_max, const std::vector<float>& weight_max,
                                     double alpha);

// Raises max_abs[j] to max |w| over input feature j of the 2-D weight `w`
// ([K, N] row-major when `k_first`, else [N, K]). REQUIRES: max_abs has K
// entries and w has K * N.
void AccumulateInputFeatureMax(const std::vector<float>& w, int64_t k, bool k_first, std::vector<float>* max_abs);

}  // namespace pq::quant

#endif  // PQ_QUANT_SMOOTHQUANT_H_
