// A softmax computed as ONNX Runtime's CPU provider computes it on x86-64 with
// AVX-512 (MLAS's softmax: its own exp approximation, sums in sixteen lanes),
// for the attention of float16 models: ORT's float16 GroupQueryAttention
// normalizes its scores in float this way, and a probability that differs in
// the last bit flips a float16 rounding of the attention output now and then.
#ifndef PQ_EXEC_KERNELS_SOFTMAX_ORT_ORDER_H_
#define PQ_EXEC_KERNELS_SOFTMAX_ORT_ORDER_H_

#include <cstdint>

namespace pq::exec {

// row[0, n) = softmax(row[0, n)) in place, as MLAS computes it: the maximum;
// each exp(x - max) by MLAS's range reduction and degree-6 polynomial (with
// fused multiply-adds); their sum in sixteen lanes (element i in lane i % 16,
// each lane left to right) reduced pairwise as MLAS's AVX-512 kernel does;
// each exp times 1 / sum. n == 0 does nothing.
void SoftmaxInOrtOrder(float* row, int64_t n);

// MLAS's exp of x <= 0 as its softmax computes it (x clamped at -88.376).
// Exposed for the tests.
float OrtSoftmaxExp(float x);

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_SOFTMAX_ORT_ORDER_H_
