// NF4 (QLoRA's 4-bit NormalFloat), the scalar reference that is the source
// of truth for pq's NF4 weights: blockwise absmax scaling, nearest-level
// coding by the midpoints between neighbouring levels, and bitsandbytes'
// packing (which ONNX Runtime's MatMulBnb4 reads). Also the double
// quantization of the absmax values.
#ifndef PQ_QUANT_NF4_H_
#define PQ_QUANT_NF4_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "base/nf4_codebook.h"
#include "quant/block_range.h"
#include "quant/scheme.h"

namespace pq::quant {

// The 16 NF4 levels, by code (base/nf4_codebook.h holds the values).
inline constexpr const std::array<float, 16>& kNf4Levels = kNf4Codebook;

// The code an odd element count is padded with: level 0.0.
constexpr uint8_t kNf4ZeroCode = 7;
static_assert(kNf4Levels[kNf4ZeroCode] == 0.0f, "code 7 is zero");

// Packed NF4 byte layout (bitsandbytes quantize_4bit, ONNX Runtime
// MatMulBnb4): the flattened weight, two codes per byte, the FIRST element in
// the HIGH nibble; an odd count ends with a byte whose low nibble is code 7:
//
//   byte j = | code of element 2j (bits 7..4) | code of element 2j + 1 (bits 3..0) |
constexpr uint8_t PackNf4Pair(uint8_t first, uint8_t second) {
  return static_cast<uint8_t>((first << 4) | (second & 0x0F));
}
static_assert(PackNf4Pair(0xA, 0x5) == 0xA5 && PackNf4Pair(0xF, kNf4ZeroCode) == 0xF7,
              "NF4 packs the first element of each byte in the high nibble");

// The code of flat element `i` of a buffer packed with PackNf4Pair.
constexpr uint8_t Nf4CodeAt(const uint8_t* packed, int64_t i) {
  return i % 2 == 0 ? static_cast<uint8_t>(packed[i / 2] >> 4)
                    : static_cast<uint8_t>(packed[i / 2] & 0x0F);
}
constexpr uint8_t kNf4PackProbe[] = {PackNf4Pair(0xA, 0x5)};
static_assert(Nf4CodeAt(kNf4PackProbe, 0) == 0xA && Nf4CodeAt(kNf4PackProbe, 1) == 0x5,
              "Nf4CodeAt reads what PackNf4Pair writes");

// Returns the code of the level nearest to `x` (x = w / absmax, in [-1, 1]):
// the number of midpoints between neighbouring levels that x lies strictly
// above, so a value exactly on a midpoint takes the lower level (as
// bitsandbytes' dQuantizeNF4 does). NaN gives code 0.
inline uint8_t Nf4Code(float x);

namespace nf4_internal {
// Midpoints between neighbouring levels, computed in double and rounded to
// float (bitsandbytes' dQuantizeNF4 thresholds).
constexpr std::array<float, 15> MakeMidpoints() {
  std::array<float, 15> m{};
  for (size_t i = 0; i < 15; ++i) {
    m[i] = static_cast<float>((static_cast<double>(kNf4Levels[i]) + kNf4Levels[i + 1]) / 2.0);
  }
  return m;
}
constexpr std::array<float, 15> kMidpoints = MakeMidpoints();
static_assert(kMidpoints[7] > 0.0f && kMidpoints[6] < 0.0f, "zero lies between midpoints 6 and 7");
}  // namespace nf4_internal

// Inline and branch-free so that the coding loop vectorizes.
inline uint8_t Nf4Code(float x) {
  int code = 0;
  for (float m : nf4_internal::kMidpoints) code += x > m ? 1 : 0;
  return static_cast<uint8_t>(code);
}

// The absmax of `count` values: max |w| (0 when all are 0), an NF4 block's
// parameter.
inline float Nf4Absmax(const float* w, int64_t count) { return AbsMax(w, count); }

// 1 / absmax as NF4 coding multiplies by it (0 for an all-zero block).
inline float Nf4Reciprocal(float absmax) { return absmax > 0 ? 1.0f / absmax : 0.0f; }

// What the model reads back for `w` in a block of absmax `absmax`, coded
// exactly as QuantizeNf4 codes it: level[Nf4Code(w * (1 / absmax))] * absmax.
inline float Nf4RoundToGrid(float w, float absmax) {
  return kNf4Levels[Nf4Code(w * Nf4Reciprocal(absmax))] * absmax;
}

// A weight quantized to NF4 in blocks of `block_size` consecutive elements
// of its flattened [N, K] layout.
struct Nf4Weight {
  std::string packed;             // ceil(count / 2) bytes, or padded (see QuantizeNf4)
  std::vector<float> absmax;      // one float32 per block (a trailing partial block has its own)
  // Error of level[code] * absmax[block] against the input (no dequantized
  // copy is kept).
  ErrorMetrics error;
};

// Quantizes `count` values: per block absmax = max |w| (0 for an all-zero
// block, whose codes are then all 7), each w multiplied by 1 / absmax (as
// bitsandbytes and ONNX Runtime compute it) and coded by Nf4Code.
// `pad_to_blocks`: the packed codes are padded with code 7 to a whole number
// of blocks (the standard-ops form reshapes them to [blocks, block_size]).
// `encoding`: the absmax of each block given (params[b].scale) rather than
// fitted, the error measured against a reference, the dequantized values.
// Blocks run in parallel (OpenMP); the result does not depend on threads.
// REQUIRES: values finite, block_size even, 0 < block_size <= kNf4MaxBlockSize;
// given absmax values >= 0 and finite.
constexpr int64_t kNf4MaxBlockSize = 4096;
Nf4Weight QuantizeNf4(const float* values, int64_t count, int64_t block_size, bool pad_to_blocks,
                      const BlockEncoding& encoding = {});

// QLoRA's double quantization of absmax values, written as int8:
// offset = mean(absmax); per block of `block_size` values,
// scale = max |absmax - offset| / 127 (1 when that is 0) and
// code = nearbyint((absmax - offset) / scale) on [-127, 127]; with more than
// one block the codes are padded with 0 to a whole number of blocks (stored
// [blocks, block_size]), a single block is stored unpadded ([1, n]).
// Reconstruction:
//   absmax'[i] = codes[i] * scales[i / block_size] + offset   (in float32)
struct DoubleQuant {
  int64_t block_size = 256;
  float offset = 0;
  std::vector<int8_t> codes;   // n (one block) or ceil(n / block_size) * block_size
  std::vector<float> scales;   // ceil(n / block_size)
  std::vector<float> reconstructed;  // absmax' for each of the n values
};
DoubleQuant DoubleQuantize(const std::vector<float>& absmax, int64_t block_size);

// The error of NF4 codes `packed` (unpadded or padded layout) read back with
// `absmax` (e.g. double-quantized) against the `count` original values;
// `dequantized`, when set, receives the values read back.
ErrorMetrics Nf4Error(const float* values, int64_t count, int64_t block_size,
                      const std::string& packed, const std::vector<float>& absmax,
                      float* dequantized = nullptr);

}  // namespace pq::quant

#endif  // PQ_QUANT_NF4_H_
