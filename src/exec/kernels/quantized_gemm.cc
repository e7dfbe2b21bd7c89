#include "exec/kernels/quantized_gemm.h"

#include <algorithm>

#include "exec/broadcast.h"
#include "exec/kernels/quantized_util.h"

namespace pq::exec::quantized {
namespace {

// For every index of `out` (row-major), the row-major index within `in`,
// where `in` broadcasts to `out`. REQUIRES: it does.
std::vector<int64_t> BroadcastIndices(const std::vector<int64_t>& in,
                                      const std::vector<int64_t>& out) {
  std::vector<int64_t> indices;
  const std::vector<int64_t> strides = BroadcastStrides(in, out);
  ForEachBroadcast2(out, strides, strides,
                    [&](int64_t, int64_t i, int64_t) { indices.push_back(i); });
  if (out.empty()) indices.assign(1, 0);
  return indices;
}

// Returns true if `in` broadcasts to exactly `out`.
bool BroadcastsTo(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  std::vector<int64_t> joined;
  return BroadcastShapes({in, out}, &joined) && joined == out;
}

// C[M, N] = A[M, K] x B[K, N] for rows [row_begin, row_end) of C. Operands
// are row-major int32; accumulation wraps modulo 2^32.
void GemmInt32Rows(const int32_t* a, const int32_t* b, int32_t* c, int64_t k, int64_t n,
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

// Returns sum a[i] * b[i] over i < k, in a fixed order (eight interleaved
// partial sums, then a fixed reduction tree), so results are reproducible.
float DotFixedOrder(const float* a, const float* b, int64_t k) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  }
  float tail = 0.0f;
  for (; i < k; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

}  // namespace

Result<MatMulShape> ResolveMatMul(const KernelContext& ctx, const std::vector<int64_t>& a,
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

Result<MatrixParam> ResolveMatrixParam(const KernelContext& ctx, const Tensor& p,
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

void GemmInt32(const int32_t* a, const int32_t* b, int32_t* c, int64_t m, int64_t k,
               int64_t n, int threads) {
  ParallelFor(threads, m, k * n, [&](int64_t begin, int64_t end) {
    GemmInt32Rows(a, b, c, k, n, begin, end);
  });
}

void MatMulTransposedFloat(const float* a, const float* w, const float* bias, float* y,
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
