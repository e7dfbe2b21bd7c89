#include "quant/int4_blockwise.h"

#include <algorithm>
#include <cmath>

#include "quant/block_range.h"
#include "quant/error_sums.h"

namespace pq::quant {

BlockParams FitInt4Block(const float* w, int64_t count, bool symmetric) {
  BlockParams p;
  p.zero_point = 8;
  if (symmetric) {
    const float absmax = AbsMax(w, count);
    if (absmax > 0) p.scale = absmax / 7.0f;
  } else {
    float lo, hi;
    RangeWithZero(w, count, &lo, &hi);
    if (hi - lo > 0) {
      p.scale = (hi - lo) / 15.0f;
      p.zero_point = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(-lo / p.scale)), 0, 15);
    }
  }
  return p;
}

Int4Weight QuantizeInt4Blocks(const float* values, int64_t n, int64_t k, int64_t block_size,
                              bool symmetric, const BlockEncoding& encoding) {
  const int64_t k_blocks = (k + block_size - 1) / block_size;
  const int64_t blob = block_size / 2;
  const int64_t zp_row = (k_blocks + 1) / 2;
  const float* reference = encoding.reference != nullptr ? encoding.reference : values;
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
      const size_t at = static_cast<size_t>(r * k_blocks + b);
      const BlockParams p = encoding.params != nullptr ? encoding.params[at] : FitInt4Block(w, len, symmetric);
      const float scale = p.scale;
      const int64_t zp = p.zero_point;
      out.scales[at] = scale;
      out.zero_points[at] = zp;
      std::fill(codes.begin(), codes.end(), static_cast<uint8_t>(zp));
      for (int64_t j = 0; j < len; ++j) {
        const float q = Int4Level(w[j], p, symmetric);
        codes[static_cast<size_t>(j)] = static_cast<uint8_t>(static_cast<int64_t>(q) + zp);
        deq[static_cast<size_t>(j)] = q * scale;
      }
      sums[static_cast<size_t>(r)].Add(reference + r * k + begin, deq.data(), len);
      if (encoding.dequantized != nullptr) {
        std::copy(deq.begin(), deq.begin() + len, encoding.dequantized + r * k + begin);
      }
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
