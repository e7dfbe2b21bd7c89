#include "base/float16.h"

#include <cmath>
#include <cstring>

namespace pq {
namespace {

constexpr uint32_t kFloatAbsMask = 0x7fffffffu;
constexpr uint32_t kFloatInf = 0x7f800000u;
// |f| at or above this (65520, halfway between 65504 and 2^16) rounds to inf.
constexpr uint32_t kHalfOverflowBits = 0x477ff000u;
// |f| below this (2^-14, the smallest normal half) becomes a half subnormal.
constexpr uint32_t kHalfMinNormalBits = 0x38800000u;
constexpr int kMantissaShift = 13;  // float mantissa bits (23) - half's (10)
constexpr uint32_t kExponentRebias = (127 - 15) << 10;

uint32_t FloatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

float BitsFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

float HalfBitsToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float value = std::ldexp(static_cast<float>(mantissa), -24);
    return BitsFloat(FloatBits(value) | sign);
  }
  if (exponent == 31) return BitsFloat(sign | kFloatInf | (mantissa << kMantissaShift));
  return BitsFloat(sign | ((exponent + 112) << 23) | (mantissa << kMantissaShift));
}

uint16_t FloatToHalfBits(float f) {
  const uint32_t bits = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & kFloatAbsMask;
  if (abs > kFloatInf) {  // NaN: keep the top of the payload, force quiet
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> kMantissaShift) & 0x1ffu));
  }
  if (abs >= kHalfOverflowBits) return static_cast<uint16_t>(sign | 0x7c00u);
  if (abs < kHalfMinNormalBits) {
    // Subnormal: |f| * 2^24 is exact; rounding it to an integer (ties to
    // even) gives the mantissa, and 1024 is correctly the smallest normal.
    const float scaled = std::ldexp(BitsFloat(abs), 24);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)));
  }
  uint32_t half = (abs >> kMantissaShift) - kExponentRebias;
  const uint32_t rest = abs & ((1u << kMantissaShift) - 1);
  constexpr uint32_t kHalfway = 1u << (kMantissaShift - 1);
  if (rest > kHalfway || (rest == kHalfway && (half & 1u))) ++half;  // carries into the exponent
  return static_cast<uint16_t>(sign | half);
}

}  // namespace pq
