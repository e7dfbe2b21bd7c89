// Folding an inference-mode BatchNormalization into the Conv that feeds it.
//
// BatchNormalization computes y = scale * (x - mean) / sqrt(var + epsilon) + B
// per channel. With a = scale / sqrt(var + epsilon) (in float), a Conv with
// weight W and bias b followed by it equals a Conv with
//   W'[m, ...] = W[m, ...] * a[m]
//   b'[m]      = (b[m] - mean[m]) * a[m] + B[m]
// This is the one place that arithmetic lives: the graph rewrite
// (quant/prepare.cc, FoldBatchNorms) and the executor's plan-time fusion
// (exec/conv_fusion.cc) both call it, so a folded model and a fused plan
// agree bit for bit.
#ifndef PQ_BASE_BATCHNORM_FOLD_H_
#define PQ_BASE_BATCHNORM_FOLD_H_

#include <cstdint>

namespace pq {

// The per-channel parameters of a BatchNormalization (inputs 1-4, each
// `channels` floats, not owned) and its epsilon attribute.
struct BatchNormParams {
  const float* scale;
  const float* b;
  const float* mean;
  const float* var;
  float epsilon;
};

// Folds `bn` into a Conv weight of `channels` output channels times
// `per_channel` elements (row-major [M, ...]) and its bias, both in place.
// REQUIRES: weight holds channels * per_channel floats and bias `channels`
// floats (zeros when the Conv has no bias).
void FoldBatchNormIntoConv(const BatchNormParams& bn, int64_t channels, int64_t per_channel,
                           float* weight, float* bias);

}  // namespace pq

#endif  // PQ_BASE_BATCHNORM_FOLD_H_
