// IEEE 754 binary16 ("half") conversions on raw bit patterns, shared by the
// ONNX float16 tensor reader and the GGUF block formats.
#ifndef PQ_BASE_FLOAT16_H_
#define PQ_BASE_FLOAT16_H_

#include <cstdint>
#include <cstring>

namespace pq {

// Returns the float value of the bfloat16 with bits `b` (exact: bfloat16 is
// the top half of a float).
inline float Bfloat16BitsToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Returns the float value of the half with bits `h` (exact: every half is a
// float). Subnormals, infinities and NaN (payload kept) are decoded.
float HalfBitsToFloat(uint16_t h);

// Returns the bits of the half nearest to `f`, ties to even. Values whose
// magnitude rounds beyond 65504 become +-inf; NaN stays a (quiet) NaN; tiny
// values become half subnormals or +-0.
uint16_t FloatToHalfBits(float f);

// Rounds each of the `n` floats at `data` to the nearest float16 value (ties
// to even), in place: HalfBitsToFloat(FloatToHalfBits(x)) for every x but NaN,
// which is left as it is. Branch-free, so the compiler vectorizes it; the
// executor calls it on every float16 value a kernel writes.
void RoundToHalfInPlace(float* data, int64_t n);

// As RoundToHalfInPlace for bfloat16 (float's exponent, 7 mantissa bits):
// ties to even, values beyond bfloat16's largest finite become +-inf, NaN is
// left as it is.
void RoundToBfloat16InPlace(float* data, int64_t n);

}  // namespace pq

#endif  // PQ_BASE_FLOAT16_H_
