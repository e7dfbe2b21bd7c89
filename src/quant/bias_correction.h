// Empirical bias correction's numbers (Nagel et al., 2019): quantizing a
// weight W to W_q shifts the layer's expected output by
//   E[W_q x] - E[W x] = (W_q - W) E[x]
// per output channel, with E[x] taken over the calibration data as the
// weight multiplies it: per input feature for MatMul/Gemm, per (input
// channel, kernel tap) of the zero-padded input for a Conv (so padding and
// strides count exactly). Subtracting that shift from the bias removes the
// mean of the weight's quantization error from the layer's output.
#ifndef PQ_QUANT_BIAS_CORRECTION_H_
#define PQ_QUANT_BIAS_CORRECTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pq/status.h"
#include "quant/qdq_writer.h"

namespace pq::quant {

// How a 2-D Conv reads its input [N, C, H, W]: kernel [kh, kw], strides,
// dilations (2 each), pads [top, left, bottom, right], auto_pad as ONNX
// spells it ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER").
struct ConvGeometry {
  int64_t channels = 0;
  std::vector<int64_t> kernel, strides = {1, 1}, dilations = {1, 1}, pads = {0, 0, 0, 0};
  std::string auto_pad = "NOTSET";
};

// Adds to `sums` (C * kh * kw values, index (c * kh + i) * kw + j) the sum
// over the batch and every output position of the padded input value under
// kernel tap (i, j) of channel c, and returns the number of (sample, output
// position) pairs summed. Errors (kInvalidInput): `x` is not [N, C, H, W]
// with C = geometry.channels, or gives no output position.
Result<int64_t> AddConvPatchSums(const float* x, const std::vector<int64_t>& shape, const ConvGeometry& geometry,
                                 std::vector<double>* sums);

// The output shift of a Conv: shift[o] = sum over (c, i, j) of
// dw[o, c, i, j] * patch_mean[((g * C/group + c) * kh + i) * kw + j], g the
// group of output channel o. `dw` = W_q - W, [M, C/group, kh, kw].
std::vector<double> ConvOutputShift(const std::vector<float>& dw, const std::vector<int64_t>& dims, int64_t group,
                                    const std::vector<double>& patch_mean);

// The output shift of a MatMul/Gemm product: shift[n] = sum_k dw(k, n)
// mean[k], `dw` = W_q - W laid out [K, N] when `k_first`, else [N, K].
std::vector<double> LinearOutputShift(const std::vector<float>& dw, int64_t k, bool k_first,
                                      const std::vector<double>& mean);

// Whether DequantizedWeight takes `rewrite`.
bool Dequantizable(const ConstantRewrite& rewrite);

// The float values a DequantizeLinear of `rewrite` gives back:
// (q - zero_point) * scale, per channel along params.axis or per tensor.
// Errors (kNotSupported, naming the tensor): an encoding other than
// DequantizeLinear, blocks, or a type other than int8/uint8.
Result<std::vector<float>> DequantizedWeight(const ConstantRewrite& rewrite);

}  // namespace pq::quant

#endif  // PQ_QUANT_BIAS_CORRECTION_H_
