// A float matrix product summed in the order ONNX Runtime's CPU provider sums
// it, for the products of float16 models. ONNX Runtime has no float16 MatMul
// kernel on x86-64: it computes a float16 MatMul in float32 with its MLAS
// GEMM between Casts and rounds the result to float16 (float16_placement.h).
// A float32 sum in another order differs by an ulp or so, and each such
// difference flips a float16 rounding now and then; along an LLM's residual
// stream those flips add up to ~3e-4 relative L2 on the logits. Summed in
// MLAS's order, pq's float16 products round as ONNX Runtime's do.
//
// The orders, measured against onnxruntime-node 1.30 on x86-64 (AVX-512 and
// FMA kernels; tools/bench/ort_gemm_order.py checks them bit for bit):
// - B a constant (ORT packs it once): each element is a chain of fused
//   multiply-adds over k in blocks of 256, each block's chain starting from
//   zero, and the blocks' sums added into C in order.
// - B computed at run time, m > 1: the same with blocks of 128, or 256, 512,
//   1024 when n <= 64, 32, 16 (and one block when n >= k).
// - B computed at run time, m == 1: for each run of four k, the four products
//   (rounded) are added left to right and the run's sum is added to C; then a
//   run of two, then one.
// These are ORT's orders at one thread (as pq's tests run it). With more
// threads ORT cuts a product wider than tall into column ranges, and a
// computed B's k-block then follows each range's width.
#ifndef PQ_EXEC_KERNELS_SGEMM_ORT_ORDER_H_
#define PQ_EXEC_KERNELS_SGEMM_ORT_ORDER_H_

#include <cstdint>

namespace pq::exec {

// Where ONNX Runtime's MatMul finds B: a constant (initializer, folded
// constant), which it packs once, or a value computed at run time.
enum class OrtGemmB { kConstant, kComputed };

// C[m x n] = A[m x k] * B[k x n], all row-major and contiguous, each element
// summed in ONNX Runtime's order for `b_kind` (above), on `threads` threads
// (results identical for every thread count). k == 0 gives zeros.
void SgemmInOrtOrder(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, OrtGemmB b_kind,
                     int threads);

// C[m x n] = alpha * A[m x k] * B[n x k]^T, all row-major and contiguous, B
// computed at run time, each element summed in ONNX Runtime's order: the
// fused multiply-add chains of the k-blocks above, the first block's sum
// times alpha and each later one's added by a fused multiply-add (sum * alpha
// + C). REQUIRES: alpha != 1 or m > 1 (ORT has a separate kernel for one row
// with alpha 1, whose order this does not reproduce).
void SgemmTransposedBInOrtOrder(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
                                float* c);

// The k-block length ONNX Runtime sums a product in (see above); a value >= k
// means one block. Exposed for the tests.
int64_t OrtGemmKBlock(int64_t n, int64_t k, OrtGemmB b_kind);

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_SGEMM_ORT_ORDER_H_
