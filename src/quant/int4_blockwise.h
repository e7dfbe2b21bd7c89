// Blockwise round-to-nearest INT4, the scalar reference for pq's int4-sym
// and int4-asym weights, packed as ONNX Runtime's com.microsoft MatMulNBits
// (bits = 4) reads them.
#ifndef PQ_QUANT_INT4_BLOCKWISE_H_
#define PQ_QUANT_INT4_BLOCKWISE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pq/quant_params.h"
#include "quant/scheme.h"

namespace pq::quant {

// MatMulNBits packing (bits = 4): the [N, K] weight as [N, k_blocks,
// block_size / 2] bytes, k_blocks = ceil(K / block_size); within a block the
// FIRST element is in the LOW nibble, codes past K are padding (the
// block's zero point):
//
//   byte j of a block = | element 2j + 1 (bits 7..4) | element 2j (bits 3..0) |
//
// Zero points (asym): uint8 [N, ceil(k_blocks / 2)], one 4-bit code per
// block packed the same way, each row starting on a byte.
constexpr uint8_t PackLowFirst(uint8_t first, uint8_t second) {
  return static_cast<uint8_t>((first & 0x0F) | (second << 4));
}
static_assert(PackLowFirst(0x5, 0xA) == 0xA5, "MatMulNBits packs the first element in the low nibble");

// The nibble of flat element `i` of a buffer packed with PackLowFirst.
constexpr uint8_t LowFirstNibble(const uint8_t* packed, int64_t i) {
  return static_cast<uint8_t>((packed[i / 2] >> (4 * (i % 2))) & 0x0F);
}
constexpr uint8_t kLowFirstProbe[] = {PackLowFirst(0x5, 0xA)};
static_assert(LowFirstNibble(kLowFirstProbe, 0) == 0x5 && LowFirstNibble(kLowFirstProbe, 1) == 0xA,
              "LowFirstNibble reads what PackLowFirst writes");

// The parameters of one block of `count` values, as QuantizeInt4Blocks
// fits them (see there).
BlockParams FitInt4Block(const float* w, int64_t count, bool symmetric);

// The integer q (code - zero point) of `w` on a block's grid:
// clamp(nearbyint(w / scale), lo, hi) with [lo, hi] = [-7, 7] symmetric,
// [-zero_point, 15 - zero_point] asymmetric.
inline float Int4Level(float w, const BlockParams& p, bool symmetric) {
  const float lo = symmetric ? -7.0f : static_cast<float>(-p.zero_point);
  const float hi = symmetric ? 7.0f : static_cast<float>(15 - p.zero_point);
  return std::clamp(std::nearbyint(w / p.scale), lo, hi);
}

// What the model reads back for `w` on a block's grid: q * scale.
inline float Int4RoundToGrid(float w, const BlockParams& p, bool symmetric) {
  return Int4Level(w, p, symmetric) * p.scale;
}

struct Int4Weight {
  std::string packed;               // N * k_blocks * block_size / 2 bytes
  std::vector<float> scales;        // [N, k_blocks]
  std::vector<int64_t> zero_points; // [N, k_blocks] codes 0..15 (sym: all 8)
  std::string packed_zero_points;   // asym only: [N, ceil(k_blocks / 2)] bytes
  // Error of (code - zero_point) * scale against the input (no dequantized
  // copy is kept).
  ErrorMetrics error;
};

// Quantizes the row-major [n, k] weight in blocks of `block_size` along k.
// Symmetric, as int8-sym and QLoRA's Int4 absmax baseline: scale =
// max |w| / 7, q = clamp(nearbyint(w / scale), -7, 7) (of int4's [-8, 7]),
// code = q + 8, zero point 8 (MatMulNBits' default, not written); a zero
// block has scale 1. Asymmetric:
// over [min(lo, 0), max(hi, 0)], scale = (max - min) / 15, zero point =
// clamp(nearbyint(-min / scale), 0, 15), code = clamp(nearbyint(w / scale) +
// zero point, 0, 15). Padding codes are the block's zero point (value 0).
// `encoding`: the parameters of each block given ([n, k_blocks] row-major)
// rather than fitted, the error measured against a reference, the
// dequantized values.
// REQUIRES: values finite, block_size even and > 0; given scales finite and
// > 0, zero points 8 (symmetric) or in [0, 15].
Int4Weight QuantizeInt4Blocks(const float* values, int64_t n, int64_t k, int64_t block_size,
                              bool symmetric, const BlockEncoding& encoding = {});

}  // namespace pq::quant

#endif  // PQ_QUANT_INT4_BLOCKWISE_H_
