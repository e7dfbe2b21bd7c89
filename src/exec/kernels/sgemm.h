// Single-precision matrix products for pq's executor's float kernels
// (MatMul, Gemm, Conv). Products big enough for it run on oneDNN's sgemm
// (JIT-generated AVX2/AVX-512 kernels chosen at run time, README "GEMM"),
// the small ones on Eigen, whose fixed cost per call is lower.
//
// Determinism: which path computes a product, and how it sums, depends only
// on (m, n, k, transposes); every call runs on the calling thread alone. So a
// kernel that cuts its work into tasks by shape alone gets identical results
// for every thread count.
#ifndef PQ_EXEC_KERNELS_SGEMM_H_
#define PQ_EXEC_KERNELS_SGEMM_H_

#include <cstdint>

namespace pq::exec {

// A row-major float matrix operand: `data` with `ld` floats between rows,
// read as its transpose when `transposed`.
struct SgemmOperand {
  const float* data;
  int64_t ld;
  bool transposed = false;
};

// C[m x n] = op(A)[m x k] * op(B)[k x n]; C is row-major with `ldc` floats
// between rows and is overwritten (not accumulated into). Runs on the calling
// thread only, inside or outside an OpenMP parallel region. k == 0 gives
// zeros; m == 0 or n == 0 writes nothing.
// REQUIRES: the operands hold what their ld and shape say.
void Sgemm(int64_t m, int64_t n, int64_t k, SgemmOperand a, SgemmOperand b, float* c, int64_t ldc);

// Sgemm's product cut into blocks of C chosen from (m, n, k) alone and spread
// over `threads` threads: the result is identical for every thread count.
void ParallelSgemm(int64_t m, int64_t n, int64_t k, SgemmOperand a, SgemmOperand b, float* c, int64_t ldc,
                   int threads);

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_SGEMM_H_
