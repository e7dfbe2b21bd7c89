// Integer and float matrix-product building blocks of the quantized kernels
// (included only by quantized.cc): numpy.matmul shape resolution with batch
// broadcasting, per-tensor/per-row/per-column parameters, an int32 GEMM and
// a fixed-order float dot product. All results are independent of the
// thread count.
#ifndef PQ_EXEC_KERNELS_QUANTIZED_GEMM_H_
#define PQ_EXEC_KERNELS_QUANTIZED_GEMM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "exec/broadcast.h"
#include "exec/kernel.h"
#include "exec/kernels/quantized_util.h"

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

// For every index of `out` (row-major), the row-major index within `in`,
// where `in` broadcasts to `out`. REQUIRES: it does.
inline std::vector<int64_t> BroadcastIndices(const std::vector<int64_t>& in,
                                             const std::vector<int64_t>& out) {
  std::vector<int64_t> indices;
  const std::vector<int64_t> strides = BroadcastStrides(in, out);
  ForEachBroadcast2(out, strides, strides,
                    [&](int64_t, int64_t i, int64_t) { indices.push_back(i); });
  if (out.empty()) indices.assign(1, 0);
  return indices;
}

// Returns true if `in` broadcasts to exactly `out`.
inline bool BroadcastsTo(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  std::vector<int64_t> joined;
  return BroadcastShapes({in, out}, &joined) && joined == out;
}

inline Result<MatMulShape> ResolveMatMul(const KernelContext& ctx, const std::vector<int64_t>& a,
                                         const std::vector<int64_t>& b) {
  if (a.empty() || b.empty()) {
    return ctx.Error("inputs must have rank >= 1, got A " + ShapeToString(a) + " and B " +
                     ShapeToString(b));
  }
  const std::vector<int64_t> a2 = a.size() == 1 ? std::vector<int64_t>{1, a[0]} : a;
  const std::vector<int64_t> b2 = b.size() == 1 ? std::vector<int64_t>{b[0], 1} : b;
  MatMulShape s;
  s.m = a2[a2.size() - 2];
  s.k = a2[a2.size() - 1];
  s.n = b2[b2.size() - 1];
  if (b2[b2.size() - 2] != s.k) {
    return ctx.Error("A " + ShapeToString(a) + " and B " + ShapeToString(b) +
                     " do not multiply: A's last dim must equal B's second-to-last");
  }
  const std::vector<int64_t> a_batch(a2.begin(), a2.end() - 2);
  const std::vector<int64_t> b_batch(b2.begin(), b2.end() - 2);
  if (!BroadcastShapes({a_batch, b_batch}, &s.batch)) {
    return ctx.Error("batch dims of A " + ShapeToString(a) + " and B " + ShapeToString(b) +
                     " do not broadcast");
  }
  s.out_shape = s.batch;
  if (a.size() > 1) s.out_shape.push_back(s.m);
  if (b.size() > 1) s.out_shape.push_back(s.n);
  s.a_matrix = BroadcastIndices(a_batch, s.batch);
  s.b_matrix = BroadcastIndices(b_batch, s.batch);
  return s;
}

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
inline Result<MatrixParam> ResolveMatrixParam(const KernelContext& ctx, const Tensor& p,
                                              const MatMulShape& s, bool rows,
                                              const std::string& what) {
  MatrixParam param;
  const int64_t len = rows ? s.m : s.n;
  const std::string expected = rows ? "one element, [" + std::to_string(s.m) + "] or [..., " +
                                          std::to_string(s.m) + ", 1] (per row of A)"
                                    : "one element, [" + std::to_string(s.n) + "] or [..., 1, " +
                                          std::to_string(s.n) + "] (per column of B)";
  param.batch_offset.assign(static_cast<size_t>(s.batch_count()), 0);
  if (p.size() == 1) return param;
  const std::vector<int64_t>& shape = p.shape();
  if (shape.size() == 1 && shape[0] == len) {
    (rows ? param.row_stride : param.col_stride) = 1;
    return param;
  }
  const size_t r = shape.size();
  const bool matrix_ok = r >= 2 && (rows ? (shape[r - 1] == 1 && (shape[r - 2] == len || shape[r - 2] == 1))
                                         : (shape[r - 2] == 1 && (shape[r - 1] == len || shape[r - 1] == 1)));
  const std::vector<int64_t> p_batch = r >= 2 ? std::vector<int64_t>(shape.begin(), shape.end() - 2)
                                              : std::vector<int64_t>();
  if (!matrix_ok || !BroadcastsTo(p_batch, s.batch)) {
    return ctx.Error(what + " has shape " + ShapeToString(shape) + "; expected " + expected);
  }
  const int64_t per_matrix = shape[r - 1] * shape[r - 2];
  if (rows && shape[r - 2] == len) param.row_stride = 1;
  if (!rows && shape[r - 1] == len) param.col_stride = 1;
  const std::vector<int64_t> index = BroadcastIndices(p_batch, s.batch);
  for (size_t b = 0; b < index.size(); ++b) param.batch_offset[b] = index[b] * per_matrix;
  return param;
}

// C[M, N] = A[M, K] x B[K, N] for rows [row_begin, row_end) of C. Operands
// are row-major int32; accumulation wraps modulo 2^32 (ONNX allows the
// accumulator to overflow only in 32 bits).
inline void GemmInt32Rows(const int32_t* a, const int32_t* b, int32_t* c, int64_t k, int64_t n,
                          int64_t row_begin, int64_t row_end) {
  std::vector<uint32_t> acc(static_cast<size_t>(n));
  for (int64_t i = row_begin; i < row_end; ++i) {
    std::fill(acc.begin(), acc.end(), 0u);
    for (int64_t kk = 0; kk < k; ++kk) {
      const uint32_t av = static_cast<uint32_t>(a[i * k + kk]);
      if (av == 0) continue;
      const int32_t* brow = b + kk * n;
      for (int64_t j = 0; j < n; ++j) acc[static_cast<size_t>(j)] += av * static_cast<uint32_t>(brow[j]);
    }
    for (int64_t j = 0; j < n; ++j) c[i * n + j] = static_cast<int32_t>(acc[static_cast<size_t>(j)]);
  }
}

// GemmInt32Rows over all M rows, split across up to `threads` threads.
inline void GemmInt32(const int32_t* a, const int32_t* b, int32_t* c, int64_t m, int64_t k,
                      int64_t n, int threads) {
  ParallelFor(threads, m, k * n, [&](int64_t begin, int64_t end) {
    GemmInt32Rows(a, b, c, k, n, begin, end);
  });
}

// Returns sum a[i] * b[i] over i < k, in a fixed order (eight interleaved
// partial sums, then a fixed reduction tree), so results are reproducible.
inline float DotFixedOrder(const float* a, const float* b, int64_t k) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  }
  float tail = 0.0f;
  for (; i < k; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

// Y[M, N] = A[M, K] x W[N, K]^T (+ bias[N] if not null), float, split by
// columns across up to `threads` threads.
inline void MatMulTransposedFloat(const float* a, const float* w, const float* bias, float* y,
                                  int64_t m, int64_t k, int64_t n, int threads) {
  ParallelFor(threads, n, m * k, [&](int64_t begin, int64_t end) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = begin; j < end; ++j) {
        const float dot = DotFixedOrder(a + i * k, w + j * k, k);
        y[i * n + j] = bias != nullptr ? dot + bias[j] : dot;
      }
    }
  });
}

}  // namespace pq::exec::quantized

#endif  // PQ_EXEC_KERNELS_QUANTIZED_GEMM_H_
