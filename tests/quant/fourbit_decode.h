// Test-side readers of packed 4-bit weights: what a runtime gives back from
// pq's codes and scales, computed independently of the quantizers.
#ifndef PQ_TESTS_QUANT_FOURBIT_DECODE_H_
#define PQ_TESTS_QUANT_FOURBIT_DECODE_H_

#include <cstdint>
#include <vector>

#include "quant/int4_blockwise.h"
#include "quant/nf4.h"

namespace pq::quant {

// level[code] * absmax[block] for the first `count` values (high nibble first).
inline std::vector<float> DecodeNf4(const Nf4Weight& q, int64_t block_size, size_t count) {
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) {
    const auto byte = static_cast<uint8_t>(q.packed[i / 2]);
    const uint8_t code = i % 2 == 0 ? byte >> 4 : byte & 0x0F;
    out[i] = kNf4Levels[code] * q.absmax[i / static_cast<size_t>(block_size)];
  }
  return out;
}

// (code - zero_point) * scale of the [n, k] weight (MatMulNBits layout: low
// nibble first, rows padded to whole blocks).
inline std::vector<float> DecodeInt4(const Int4Weight& q, int64_t n, int64_t k, int64_t block_size) {
  const int64_t k_blocks = (k + block_size - 1) / block_size;
  std::vector<float> out(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c) {
      const int64_t block = r * k_blocks + c / block_size;
      const int64_t at = block * block_size + c % block_size;  // code index in the packed blob
      const auto byte = static_cast<uint8_t>(q.packed[static_cast<size_t>(at / 2)]);
      const int code = at % 2 == 0 ? byte & 0x0F : byte >> 4;
      out[static_cast<size_t>(r * k + c)] =
          static_cast<float>(code - q.zero_points[static_cast<size_t>(block)]) *
          q.scales[static_cast<size_t>(block)];
    }
  }
  return out;
}

}  // namespace pq::quant

#endif  // PQ_TESTS_QUANT_FOURBIT_DECODE_H_
