// Integer and float matrix-product building blocks of the quantized kernels
// (quantized_*.cc): numpy.matmul shape resolution with batch
// broadcasting, per-tensor/per-row/per-column parameters, an int32 GEMM and
// a fixed-order float dot product. All results are independent of the
// thread count.
#ifndef PQ_EXEC_KERNELS_QUANTIZED_GEMM_H_
#define PQ_EXEC_KERNELS_QUANTIZED_GEMM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"

namespace pq::exec::quantized {

// The shape of A x B as numpy.matmul: a 1-D A is [1, K] and a 1-D B is
// [K, 1], with the added dim dropped from the output; batch dims broadcast.
struct MatMulShape {
  int64_t m = 0, k = 0, n = 0;
  std::vector<int64_t> batch;      // broadcast batch dims of the output
  std::vector<int64_t> out_shape;  // batch + [M] + [N] (dims of 1-D inputs dropped)
  std::vector<int64_t> a_matrix;   // per output batch index: matrix index within A
  std::vector<int64_t> b_matrix;   // per output batch index: matrix index within B
  int64_t batch_count() const { return static_cast<int64_t>(a_matrix.size()); }
};

// Resolves the shapes of A x B; errors name the node and both shapes.
Result<MatMulShape> ResolveMatMul(const KernelContext& ctx, const std::vector<int64_t>& a,
                                  const std::vector<int64_t>& b);

// A zero point or scale of a matmul operand: per-tensor, per-row of A or
// per-column of B. Element (batch, r, c) of the product uses
// batch_offset[batch] + r * row_stride + c * col_stride.
struct MatrixParam {
  std::vector<int64_t> batch_offset;  // per output batch index
  int64_t row_stride = 0;
  int64_t col_stride = 0;
  int64_t At(int64_t batch, int64_t r, int64_t c) const {
    return batch_offset[static_cast<size_t>(batch)] + r * row_stride + c * col_stride;
  }
};

// Resolves parameter `p` (named `what`) for operand A (`rows` = true: one
// element, [M], or [..., M, 1]) or operand B (one element, [N], or
// [..., 1, N]); leading dims broadcast to the product's batch dims.
Result<MatrixParam> ResolveMatrixParam(const KernelContext& ctx, const Tensor& p,
                                       const MatMulShape& s, bool rows,
                                       const std::string& what);

// C[M, N] = A[M, K] x B[K, N], row-major int32, accumulating modulo 2^32
// (ONNX allows the accumulator to overflow only in 32 bits); rows are split
// across up to `threads` threads.
void GemmInt32(const int32_t* a, const int32_t* b, int32_t* c, int64_t m, int64_t k,
               int64_t n, int threads);

// Y[M, N] = A[M, K] x W[N, K]^T (+ bias[N] if not null), float, split by
// columns across up to `threads` threads.
void MatMulTransposedFloat(const float* a, const float* w, const float* bias, float* y,
                           int64_t m, int64_t k, int64_t n, int threads);

}  // namespace pq::exec::quantized

#endif  // PQ_EXEC_KERNELS_QUANTIZED_GEMM_H_
