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

}  // namespace
}  // namespace pq
