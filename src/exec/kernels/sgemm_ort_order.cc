#include "exec/kernels/sgemm_ort_order.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace pq::exec {
namespace {

// Tile of C one task computes: kTileRows rows share each load of B, and
// kTileColumns accumulators per row stay in L1.
constexpr int64_t kTileRows = 4;
constexpr int64_t kTileColumns = 256;

// C[rows x cols] tile (row stride n) of A[rows x k] * B[k x n] at column
// `col0`: per element, fused multiply-add chains over k-blocks of `block`,
// each from zero, added into C in order.
void BlockedFmaTile(int64_t rows, int64_t cols, int64_t col0, int64_t n, int64_t k, int64_t block, const float* a,
                    const float* b, float* c) {
  float acc[kTileRows][kTileColumns];
  for (int64_t k0 = 0; k0 < k; k0 += block) {
    const int64_t k1 = std::min(k, k0 + block);
    for (int64_t r = 0; r < rows; ++r) std::fill(acc[r], acc[r] + cols, 0.0f);
    for (int64_t p = k0; p < k1; ++p) {
      const float* brow = b + p * n + col0;
      for (int64_t r = 0; r < rows; ++r) {
        const float av = a[r * k + p];
        float* ar = acc[r];
        for (int64_t j = 0; j < cols; ++j) ar[j] = std::fma(av, brow[j], ar[j]);
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      float* cr = c + r * n + col0;
      if (k0 == 0) {
        std::memcpy(cr, acc[r], static_cast<size_t>(cols) * sizeof(float));
      } else {
        for (int64_t j = 0; j < cols; ++j) cr[j] = cr[j] + acc[r][j];
      }
    }
  }
}

// One row of A times B[k x n] as ONNX Runtime's M = 1 kernel sums it (runs of
// four, two, one products; see the header).
void RowTimesMatrix(int64_t n, int64_t k, const float* a, const float* b, float* c) {
  std::fill(c, c + n, 0.0f);
  int64_t p = 0;
  for (; k - p >= 4; p += 4) {
    const float a0 = a[p], a1 = a[p + 1], a2 = a[p + 2], a3 = a[p + 3];
    const float *b0 = b + p * n, *b1 = b0 + n, *b2 = b1 + n, *b3 = b2 + n;
    for (int64_t j = 0; j < n; ++j) {
      float t = a0 * b0[j] + a1 * b1[j];
      t = t + a2 * b2[j];
      t = t + a3 * b3[j];
      c[j] = t + c[j];
    }
  }
  if (k - p >= 2) {
    const float a0 = a[p], a1 = a[p + 1];
    const float *b0 = b + p * n, *b1 = b0 + n;
    for (int64_t j = 0; j < n; ++j) c[j] = (a0 * b0[j] + a1 * b1[j]) + c[j];
    p += 2;
  }
  if (k - p == 1) {
    const float a0 = a[p];
    const float* b0 = b + p * n;
    for (int64_t j = 0; j < n; ++j) c[j] = a0 * b0[j] + c[j];
  }
}

}  // namespace

int64_t OrtGemmKBlock(int64_t n, int64_t k, OrtGemmB b_kind) {
  if (b_kind == OrtGemmB::kConstant) return 256;
  if (n >= k) return std::max<int64_t>(k, 1);
  int64_t stride_n = 128, stride_k = 128;
  while (stride_n > 16 && stride_n / 2 >= n) {
    stride_k *= 2;
    stride_n /= 2;
  }
  return stride_k;
}

void SgemmInOrtOrder(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, OrtGemmB b_kind,
                     int threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    std::fill(c, c + m * n, 0.0f);
    return;
  }
  if (m == 1 && b_kind == OrtGemmB::kComputed) {
    RowTimesMatrix(n, k, a, b, c);
    return;
  }
  const int64_t block = OrtGemmKBlock(n, k, b_kind);
  const int64_t row_tiles = (m + kTileRows - 1) / kTileRows;
  const int64_t col_tiles = (n + kTileColumns - 1) / kTileColumns;
  const int64_t tiles = row_tiles * col_tiles;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && tiles > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t r0 = (t / col_tiles) * kTileRows, c0 = (t % col_tiles) * kTileColumns;
    BlockedFmaTile(std::min(kTileRows, m - r0), std::min(kTileColumns, n - c0), c0, n, k, block, a + r0 * k, b,
                   c + r0 * n);
  }
}

void SgemmTransposedBInOrtOrder(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
                                float* c) {
  const int64_t block = OrtGemmKBlock(n, k, OrtGemmB::kComputed);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float out = 0.0f;
      for (int64_t k0 = 0; k0 < k; k0 += block) {
        float acc = 0.0f;
        for (int64_t p = k0; p < std::min(k, k0 + block); ++p) acc = std::fma(a[i * k + p], b[j * k + p], acc);
        out = k0 == 0 ? acc * alpha : std::fma(acc, alpha, out);
      }
      c[i * n + j] = k > 0 ? out : 0.0f;
    }
  }
}

}  // namespace pq::exec
