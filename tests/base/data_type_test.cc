#include "pq/data_type.h"

#include <gtest/gtest.h>

#include <vector>

namespace pq {
namespace {

TEST(DataTypeTest, RawByteSizeOfFixedWidthTypes) {
  EXPECT_EQ(RawByteSize(1, 10), 40);   // float
  EXPECT_EQ(RawByteSize(3, 10), 10);   // int8
  EXPECT_EQ(RawByteSize(7, 3), 24);    // int64
  EXPECT_EQ(RawByteSize(10, 5), 10);   // float16
  EXPECT_EQ(RawByteSize(15, 2), 32);   // complex128
}

TEST(DataTypeTest, FourBitTypesPackTwoPerByteRoundedUp) {
  EXPECT_EQ(RawByteSize(22, 7), 4);  // int4
  EXPECT_EQ(RawByteSize(21, 8), 4);  // uint4
  EXPECT_EQ(RawByteSize(23, 1), 1);  // float4e2m1
}

TEST(DataTypeTest, StringUnknownAndOverflowHaveNoByteSize) {
  EXPECT_FALSE(RawByteSize(8, 1).has_value());
  EXPECT_FALSE(RawByteSize(99, 1).has_value());
  EXPECT_FALSE(RawByteSize(1, INT64_MAX / 2).has_value());
}

TEST(DataTypeTest, CheckedElementCountRefusesNegativeAndOverflow) {
  EXPECT_EQ(CheckedElementCount(std::vector<int64_t>{}), 1);
  EXPECT_EQ(CheckedElementCount(std::vector<int64_t>{2, 0, 5}), 0);
  EXPECT_EQ(CheckedElementCount(std::vector<int64_t>{2, 3, 4}), 24);
  EXPECT_FALSE(CheckedElementCount(std::vector<int64_t>{2, -1}).has_value());
  EXPECT_FALSE(CheckedElementCount(std::vector<int64_t>{1LL << 32, 1LL << 32}).has_value());
}

TEST(DataTypeTest, NamesFollowOnnx) {
  EXPECT_EQ(DataTypeName(1), "float");
  EXPECT_EQ(DataTypeName(16), "bfloat16");
  EXPECT_EQ(DataTypeName(22), "int4");
  EXPECT_EQ(DataTypeName(77), "type77");
}

TEST(DataTypeTest, EveryNamedConstantHasItsRow) {
  for (int32_t t = kFloat; t <= kFloat4e2m1; ++t) {
    const DataTypeTraits* row = FindDataTypeTraits(t);
    ASSERT_NE(row, nullptr) << t;
    EXPECT_EQ(row->number, t);
    EXPECT_EQ(DataTypeName(t), row->name);
  }
  EXPECT_EQ(FindDataTypeTraits(0), nullptr);
  EXPECT_EQ(FindDataTypeTraits(kFloat4e2m1 + 1), nullptr);
  EXPECT_FALSE(IsKnownDataType(0));
  EXPECT_TRUE(IsKnownDataType(kString));
}

TEST(DataTypeTest, FloatingPointMeansTheQuantizableWideFloats) {
  for (int32_t t : {kFloat, kFloat16, kBfloat16, kDouble}) EXPECT_TRUE(IsFloatingPoint(t)) << t;
  for (int32_t t : {int32_t{kUint8}, int32_t{kInt32}, int32_t{kBool}, int32_t{kComplex64},
                    int32_t{kFloat8e4m3fn}, int32_t{kFloat4e2m1}, int32_t{99}}) {
    EXPECT_FALSE(IsFloatingPoint(t)) << t;
  }
}

TEST(DataTypeTest, IntegerRangesOfQuantizedTypes) {
  ASSERT_TRUE(IntegerRangeOf(kUint8).has_value());
  EXPECT_EQ(IntegerRangeOf(kUint8)->hi, 255);
  EXPECT_EQ(IntegerRangeOf(kInt8)->lo, -128);
  EXPECT_EQ(IntegerRangeOf(kUint4)->hi, 15);
  EXPECT_EQ(IntegerRangeOf(kInt4)->lo, -8);
  EXPECT_EQ(IntegerRangeOf(kInt4)->hi, 7);
  EXPECT_EQ(IntegerRangeOf(kInt16)->hi, 32767);
  EXPECT_FALSE(IntegerRangeOf(kFloat).has_value());
  EXPECT_FALSE(IntegerRangeOf(kUint64).has_value());
}

}  // namespace
}  // namespace pq
