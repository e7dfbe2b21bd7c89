#include "quant/int4_blockwise.h"

#include <algorithm>
#include <cmath>

#include "quant/error_sums.h"

namespace pq::quant {

Int4Weight QuantizeInt4Blocks(const float* values, int64_t n, int64_t k, int64_t block_size,
                              bool symmetric) {
  const int64_t k_blocks = (k + block_size - 1) / block_size;
  const int64_t blob = block_size / 2;
  const int64_t zp_row = (k_blocks + 1) / 2;
  Int4Weight out;
  out.packed.assign(static_cast<size_t>(n * k_blocks * blob), 0);
  out.scales.resize(static_cast<size_t>(n * k_blocks));
  out.zero_points.resize(static_cast<size_t>(n * k_blocks));
  if (!symmetric) out.packed_zero_points.assign(static_cast<size_t>(n * zp_row), 0);
  // One error sum per row, merged in row order: independent of threads.
  std::vector<ErrorSums> sums(static_cast<size_t>(n));
  uint8_t* packed = reinterpret_cast<uint8_t*>(out.packed.data());
  uint8_t* packed_zp = reinterpret_cast<uint8_t*>(out.packed_zero_points.data());
  // Rows are independent (OpenMP): the result does not depend on threads.
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; ++r) {
    std::vector<uint8_t> codes(static_cast<size_t>(block_size));
    std::vector<float> deq(static_cast<size_t>(block_size));
    for (int64_t b = 0; b < k_blocks; ++b) {
      const int64_t begin = b * block_size, len = std::min(block_size, k - begin);
      const float* w = values + r * k + begin;
      float scale = 1.0f;
      int64_t zp = 8;
      if (symmetric) {
        float absmax = 0;
        for (int64_t j = 0; j < len; ++j) absmax = std::max(absmax, std::fabs(w[j]));
        if (absmax > 0) scale = absmax / 7.0f;
      } else {
        float lo = 0, hi = 0;
        for (int64_t j = 0; j < len; ++j) {
          lo = std::min(lo, w[j]);
          hi = std::max(hi, w[j]);
        }
        if (hi - lo > 0) {
          scale = (hi - lo) / 15.0f;
          zp = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(-lo / scale)), 0, 15);
        }
      }
      const size_t at = static_cast<size_t>(r * k_blocks + b);
      out.scales[at] = scale;
      out.zero_points[at] = zp;
      const float lo_q = symmetric ? -7.0f : static_cast<float>(-zp);
      const float hi_q = symmetric ? 7.0f : static_cast<float>(15 - zp);
      std::fill(codes.begin(), codes.end(), static_cast<uint8_t>(zp));
      for (int64_t j = 0; j < len; ++j) {
        const float q = std::clamp(std::nearbyint(w[j] / scale), lo_q, hi_q);
        codes[static_cast<size_t>(j)] = static_cast<uint8_t>(static_cast<int64_t>(q) + zp);
        deq[static_cast<size_t>(j)] = q * scale;
      }
      sums[static_cast<size_t>(r)].Add(w, deq.data(), len);
      uint8_t* dst = packed + at * static_cast<size_t>(blob);
      for (int64_t j = 0; j < blob; ++j) {
        dst[j] = PackLowFirst(codes[static_cast<size_t>(2 * j)], codes[static_cast<size_t>(2 * j + 1)]);
      }
      if (!symmetric) {
        uint8_t& byte = packed_zp[r * zp_row + b / 2];
        byte = static_cast<uint8_t>(byte | (b % 2 == 0 ? zp : zp << 4));
      }
    }
  }
  out.error = MergeInOrder(sums);
  return out;
}

}  // namespace pq::quant
