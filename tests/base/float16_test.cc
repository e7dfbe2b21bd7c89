// Tests of src/base/float16.cc: the in-place rounding loops the executor runs
// on float16 and bfloat16 values, against the scalar conversions.
#include "base/float16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace pq {
namespace {

// Every kStride-th float bit pattern is checked besides the boundaries.
constexpr uint64_t kStride = 4099;
// bfloat16's largest finite value, (2 - 2^-7) * 2^127.
constexpr double kMaxBfloat16 = 3.3895313892515355e38;

uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Sampled bit patterns plus, around every finite half, the half itself, its
// float neighbours, and the midpoints to the next half (ties) with theirs.
std::vector<float> HalfTestValues() {
  std::vector<float> values;
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += kStride) values.push_back(FromBits(static_cast<uint32_t>(b)));
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    for (uint32_t sign : {0u, 0x8000u}) {
      const float lo = HalfBitsToFloat(static_cast<uint16_t>(h | sign));
      const float hi = HalfBitsToFloat(static_cast<uint16_t>((h + 1) | sign));  // 0x7c00: inf
      const float mid = h + 1 == 0x7c00 ? std::copysign(65520.0f, lo) : (lo + hi) / 2;  // exact
      for (float center : {lo, mid}) {
        for (int d = -1; d <= 1; ++d) values.push_back(FromBits(Bits(center) + static_cast<uint32_t>(d)));
      }
    }
  }
  values.push_back(std::numeric_limits<float>::infinity());
  values.push_back(-std::numeric_limits<float>::infinity());
  values.push_back(std::numeric_limits<float>::quiet_NaN());
  values.push_back(FromBits(0xffc01234u));  // a negative NaN with a payload
  return values;
}

TEST(RoundToHalfInPlaceTest, EqualsTheScalarConversionAndKeepsNan) {
  const std::vector<float> values = HalfTestValues();
  std::vector<float> rounded = values;
  RoundToHalfInPlace(rounded.data(), static_cast<int64_t>(rounded.size()));
  int64_t mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const float x = values[i];
    const uint32_t want = std::isnan(x) ? Bits(x) : Bits(HalfBitsToFloat(FloatToHalfBits(x)));
    if (Bits(rounded[i]) != want && ++mismatches <= 5) {
      ADD_FAILURE() << std::hexfloat << x << " (0x" << std::hex << Bits(x) << ") rounds to "
                    << rounded[i] << ", expected " << FromBits(want);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(RoundToHalfInPlaceTest, TiesGoToEvenAndOverflowToInfinity) {
  std::vector<float> v = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65519.0f, 65520.0f, -65520.0f,
                          0x1p-25f, 3 * 0x1p-25f, -0.0f, 1e-30f};
  RoundToHalfInPlace(v.data(), static_cast<int64_t>(v.size()));
  EXPECT_EQ(v[0], 1.0f);                   // tie between 1 and 1 + 2^-10: even is 1
  EXPECT_EQ(v[1], 1.0f + 4 * 0x1p-11f);    // tie: even is 1 + 2^-9
  EXPECT_EQ(v[2], 65504.0f);
  EXPECT_EQ(v[3], std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[4], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(v[5], 0.0f);                   // half the smallest subnormal: tie to even 0
  EXPECT_EQ(v[6], 0x1p-23f);               // 1.5 subnormal quanta: tie to even 2
  EXPECT_TRUE(std::signbit(v[7]));
  EXPECT_EQ(v[8], 0.0f);
}

// bfloat16's nearest value to x (ties to even), computed in double.
float Bfloat16Reference(float x) {
  if (std::isnan(x) || std::isinf(x) || x == 0.0f) return x;
  int e;
  std::frexp(static_cast<double>(x), &e);  // |x| = m * 2^e, m in [0.5, 1)
  const double quantum = std::ldexp(1.0, std::max(e, -125) - 8);  // 8 significant bits
  const double r = std::nearbyint(static_cast<double>(x) / quantum) * quantum;
  if (std::fabs(r) > kMaxBfloat16) return std::copysign(std::numeric_limits<float>::infinity(), x);
  return static_cast<float>(r);
}

TEST(RoundToBfloat16InPlaceTest, EqualsTheNearestBfloat16AndKeepsNan) {
  std::vector<float> values;
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += kStride) values.push_back(FromBits(static_cast<uint32_t>(b)));
  for (uint32_t top = 0; top < 0x10000; top += 7) {  // bfloat16 values, ties, neighbours
    for (uint32_t low : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      values.push_back(FromBits((top << 16) | low));
    }
  }
  values.push_back(FromBits(0x7f7f8000u));  // the tie above the largest finite: inf
  std::vector<float> rounded = values;
  RoundToBfloat16InPlace(rounded.data(), static_cast<int64_t>(rounded.size()));
  int64_t mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const float x = values[i];
    const uint32_t want = Bits(Bfloat16Reference(x));
    if (Bits(rounded[i]) != want && ++mismatches <= 5) {
      ADD_FAILURE() << std::hexfloat << x << " (0x" << std::hex << Bits(x) << ") rounds to "
                    << rounded[i] << ", expected " << FromBits(want);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace pq
