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

// The float nearest to |f| (bits `abs`, not NaN) that float16 holds, as bits.
inline uint32_t RoundedHalfMagnitude(uint32_t abs) {
  // Normal halves: drop 13 mantissa bits, rounding half to even (a carry
  // moves into the exponent, as it should).
  const uint32_t normal =
      (abs + ((1u << (kMantissaShift - 1)) - 1) + ((abs >> kMantissaShift) & 1u)) &
      ~((1u << kMantissaShift) - 1);
  // Subnormal halves are multiples of 2^-24: adding 0.5 (whose ulp is 2^-24)
  // rounds |f| < 2^-14 to one, ties to even, and subtracting it is exact.
  const uint32_t subnormal = FloatBits((BitsFloat(abs) + 0.5f) - 0.5f);
  const uint32_t rounded = abs < kHalfMinNormalBits ? subnormal : normal;
  return abs >= kHalfOverflowBits ? kFloatInf : rounded;
}

}  // namespace

void RoundToHalfInPlace(float* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = FloatBits(data[i]);
    const uint32_t abs = bits & kFloatAbsMask;
    const uint32_t rounded = (bits & ~kFloatAbsMask) | RoundedHalfMagnitude(abs);
    data[i] = BitsFloat(abs > kFloatInf ? bits : rounded);
  }
}

void RoundToBfloat16InPlace(float* data, int64_t n) {
  constexpr int kDropped = 16;  // float mantissa bits (23) - bfloat16's (7)
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = FloatBits(data[i]);
    // Half to even on the low 16 bits; a carry reaches the exponent, and from
    // the largest finite values infinity.
    const uint32_t rounded =
        (bits + ((1u << (kDropped - 1)) - 1) + ((bits >> kDropped) & 1u)) & ~((1u << kDropped) - 1);
    data[i] = BitsFloat((bits & kFloatAbsMask) > kFloatInf ? bits : rounded);
  }
}

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
