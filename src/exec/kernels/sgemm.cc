#include "exec/kernels/sgemm.h"

#include <omp.h>

#include <algorithm>

#include <Eigen/Core>
#include <dnnl.h>

namespace pq::exec {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using Map = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;

// Products with fewer multiply-adds than this run on Eigen: oneDNN's fixed
// cost per call (argument checks, packing buffers) outweighs its faster
// kernels below about this size (tools/bench/gemm_libraries.cc: 16x32x16
// runs at 57 GFLOP/s on Eigen and 33 on oneDNN, 8x64x64 at 61 and 70).
constexpr int64_t kMinDnnlMacs = 1 << 15;
// ParallelSgemm: products with fewer multiply-adds run as one call.
constexpr int64_t kMinParallelMacs = 1 << 20;
// ParallelSgemm's largest block of C: rows x columns. A big product is cut
// into at least two blocks, so one product keeps two threads busy (an LLM's
// prefill is a chain of single products).
constexpr int64_t kBlockRows = 256;
constexpr int64_t kBlockColumns = 256;

void EigenSgemm(int64_t m, int64_t n, int64_t k, SgemmOperand a, SgemmOperand b, float* c, int64_t ldc) {
  Map out(c, m, n, Eigen::OuterStride<>(ldc));
  const ConstMap ma(a.data, a.transposed ? k : m, a.transposed ? m : k, Eigen::OuterStride<>(a.ld));
  const ConstMap mb(b.data, b.transposed ? n : k, b.transposed ? k : n, Eigen::OuterStride<>(b.ld));
  if (!a.transposed && !b.transposed) {
    out.noalias() = ma * mb;
  } else if (!a.transposed) {
    out.noalias() = ma * mb.transpose();
  } else if (!b.transposed) {
    out.noalias() = ma.transpose() * mb;
  } else {
    out.noalias() = ma.transpose() * mb.transpose();
  }
}

// oneDNN's sgemm threads itself with OpenMP when the calling task allows more
// than one thread; the calling task's limit is set to one around the call.
void DnnlSgemm(int64_t m, int64_t n, int64_t k, SgemmOperand a, SgemmOperand b, float* c, int64_t ldc) {
  const int saved = omp_get_max_threads();
  if (saved != 1) omp_set_num_threads(1);
  dnnl_sgemm(a.transposed ? 'T' : 'N', b.transposed ? 'T' : 'N', m, n, k, 1.0f, a.data, a.ld, b.data, b.ld, 0.0f,
             c, ldc);
  if (saved != 1) omp_set_num_threads(saved);
}

}  // namespace

void Sgemm(int64_t m, int64_t n, int64_t k, SgemmOperand a, SgemmOperand b, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
  } else if (m * n * k < kMinDnnlMacs) {
    EigenSgemm(m, n, k, a, b, c, ldc);
  } else {
    DnnlSgemm(m, n, k, a, b, c, ldc);
  }
}

void ParallelSgemm(int64_t m, int64_t n, int64_t k, SgemmOperand a, SgemmOperand b, float* c, int64_t ldc,
                   int threads) {
  if (m <= 0 || n <= 0) return;
  const bool big = m * n * k >= kMinParallelMacs;
  int64_t row_blocks = big ? (m + kBlockRows - 1) / kBlockRows : 1;
  int64_t column_blocks = big ? (n + kBlockColumns - 1) / kBlockColumns : 1;
  if (big && row_blocks * column_blocks == 1) (n >= m ? column_blocks : row_blocks) = 2;
  const int64_t rows = (m + row_blocks - 1) / row_blocks, columns = (n + column_blocks - 1) / column_blocks;
  const int64_t tasks = row_blocks * column_blocks;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1 && tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t r0 = task / column_blocks * rows, c0 = task % column_blocks * columns;
    const int64_t mr = std::min(rows, m - r0), nc = std::min(columns, n - c0);
    SgemmOperand ab = a, bb = b;
    ab.data += a.transposed ? r0 : r0 * a.ld;
    bb.data += b.transposed ? c0 * b.ld : c0;
    Sgemm(mr, nc, k, ab, bb, c + r0 * ldc + c0, ldc);
  }
}

}  // namespace pq::exec
