// Tests of src/quant/float_type.cc: float16 and bfloat16 constants read as
// float32 exactly, and float32 values written back rounded to nearest even.
#include "quant/float_type.h"

#include <gtest/gtest.h>

#include <cstring>

#include "pq/data_type.h"

namespace pq::quant {
namespace {

ConstantTensor View(int32_t dtype, const std::string& raw, int64_t count) {
  ConstantTensor c;
  c.name = "w";
  c.data_type = dtype;
  c.dims = {count};
  c.element_count = count;
  c.data = reinterpret_cast<const uint8_t*>(raw.data());
  c.byte_size = static_cast<int64_t>(raw.size());
  return c;
}

uint16_t Bits16(const std::string& raw, size_t i) {
  uint16_t bits = 0;
  std::memcpy(&bits, raw.data() + 2 * i, 2);
  return bits;
}

TEST(FloatTypeTest, QuantizableTypesAreFloatFloat16AndBfloat16) {
  EXPECT_TRUE(IsQuantizableFloat(kFloat));
  EXPECT_TRUE(IsQuantizableFloat(kFloat16));
  EXPECT_TRUE(IsQuantizableFloat(kBfloat16));
  EXPECT_FALSE(IsQuantizableFloat(kDouble));
  EXPECT_FALSE(IsQuantizableFloat(kFloat8e4m3fn));
  EXPECT_FALSE(IsQuantizableFloat(kInt8));
}

TEST(FloatTypeTest, Float16RoundTripsExactlyAndRoundsToNearestEven) {
  // 1, -2, 65504 (largest), 2^-24 (smallest subnormal) are float16 values.
  const std::vector<float> exact = {1.0f, -2.0f, 65504.0f, 5.9604645e-08f, 0.0f};
  const std::string raw = FloatRaw(exact, kFloat16);
  ASSERT_EQ(raw.size(), exact.size() * 2);
  EXPECT_EQ(Bits16(raw, 0), 0x3c00);
  EXPECT_EQ(Bits16(raw, 1), 0xc000);
  EXPECT_EQ(ReadFloats(View(kFloat16, raw, 5)), exact);
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to even gives 1.
  const std::vector<float> rounded = RoundedTo({1.0f + 0.00048828125f, 1.0f + 3 * 0.00048828125f}, kFloat16);
  EXPECT_EQ(rounded[0], 1.0f);
  EXPECT_EQ(rounded[1], 1.0f + 4 * 0.00048828125f);
  EXPECT_EQ(ReadFloats(View(kFloat16, FloatRaw({1.0f + 0.00048828125f}, kFloat16), 1))[0], 1.0f);
}

TEST(FloatTypeTest, Bfloat16IsTheTopHalfOfAFloatRoundedToNearestEven) {
  const std::vector<float> exact = {1.0f, -3.0f, 0.15625f};
  const std::string raw = FloatRaw(exact, kBfloat16);
  EXPECT_EQ(Bits16(raw, 0), 0x3f80);
  EXPECT_EQ(Bits16(raw, 1), 0xc040);
  EXPECT_EQ(ReadFloats(View(kBfloat16, raw, 3)), exact);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even gives 1.
  EXPECT_EQ(RoundedTo({1.0f + 0.00390625f}, kBfloat16)[0], 1.0f);
  EXPECT_EQ(Bits16(FloatRaw({1.0f + 3 * 0.00390625f}, kBfloat16), 0), 0x3f82);
}

TEST(FloatTypeTest, Float32IsWrittenAsItIs) {
  const std::vector<float> values = {0.1f, -7.25f};
  const std::string raw = FloatRaw(values, kFloat);
  ASSERT_EQ(raw.size(), 8u);
  EXPECT_EQ(ReadFloats(View(kFloat, raw, 2)), values);
  EXPECT_EQ(RoundedTo(values, kFloat), values);
}

}  // namespace
}  // namespace pq::quant
