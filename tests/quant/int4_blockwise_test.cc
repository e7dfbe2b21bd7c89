// Tests of src/quant/int4_blockwise.cc: known-answer MatMulNBits packing
// (first element in the LOW nibble), symmetric and asymmetric blocks, a
// partial block padded with its zero point.
#include "quant/int4_blockwise.h"

#include <gtest/gtest.h>

#include "quant/fourbit_decode.h"

namespace pq::quant {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// One row, K = 5, block 4: {1, -2, 0.5, 0} and a partial block {4}.
const std::vector<float> kRow = {1.0f, -2.0f, 0.5f, 0.0f, 4.0f};

// Symmetric: block {7, -14, 3.5, 0} has absmax 14, scale 14 / 7 = 2, q =
// 3.5 -> 4 (half to even), -7, 1.75 -> 2, 0: codes (q + 8) 12, 1, 10, 8;
// block {4}: scale 4 / 7, q = 7, code 15, padded with 8. Low nibble first:
// 1C 8A | 8F 88.
TEST(Int4BlockwiseTest, SymmetricKnownAnswer) {
  const std::vector<float> row = {7.0f, -14.0f, 3.5f, 0.0f, 4.0f};
  const Int4Weight q = QuantizeInt4Blocks(row.data(), 1, 5, 4, true);
  EXPECT_EQ(Bytes(q.packed), (std::vector<uint8_t>{0x1C, 0x8A, 0x8F, 0x88}));
  EXPECT_EQ(q.scales, (std::vector<float>{2.0f, 4.0f / 7.0f}));
  EXPECT_EQ(q.zero_points, (std::vector<int64_t>{8, 8}));
  EXPECT_TRUE(q.packed_zero_points.empty()) << "symmetric: MatMulNBits' default zero point 8";
  const std::vector<float> dequantized = DecodeInt4(q, 1, 5, 4);
  EXPECT_EQ(dequantized[0], 8.0f);
  EXPECT_EQ(dequantized[1], -14.0f);
  EXPECT_EQ(dequantized[2], 4.0f);
  EXPECT_FLOAT_EQ(dequantized[4], 4.0f);
  const ErrorMetrics expected = ComputeErrorMetrics(row.data(), dequantized.data(), 5);
  EXPECT_DOUBLE_EQ(q.error.mse, expected.mse);
}

// Asymmetric: block 0 over [-2, 1]: scale 0.2, zero point 10, codes 15, 0,
// 12, 10; block 1 over [0, 4]: scale 4/15, zero point 0, code 15, padded
// with 0. Codes 0F AC | 0F 00; zero points 10 (low) and 0 (high): 0A.
TEST(Int4BlockwiseTest, AsymmetricKnownAnswer) {
  const Int4Weight q = QuantizeInt4Blocks(kRow.data(), 1, 5, 4, false);
  EXPECT_EQ(Bytes(q.packed), (std::vector<uint8_t>{0x0F, 0xAC, 0x0F, 0x00}));
  EXPECT_EQ(q.zero_points, (std::vector<int64_t>{10, 0}));
  EXPECT_EQ(Bytes(q.packed_zero_points), (std::vector<uint8_t>{0x0A}));
  EXPECT_FLOAT_EQ(q.scales[0], 0.2f);
  EXPECT_FLOAT_EQ(q.scales[1], 4.0f / 15.0f);
  EXPECT_FLOAT_EQ(DecodeInt4(q, 1, 5, 4)[4], 4.0f);
}

TEST(Int4BlockwiseTest, ZeroBlockHasAFiniteScale) {
  const std::vector<float> zeros(16, 0.0f);
  for (bool symmetric : {true, false}) {
    const Int4Weight q = QuantizeInt4Blocks(zeros.data(), 1, 16, 16, symmetric);
    EXPECT_EQ(q.scales, (std::vector<float>{1.0f}));
    EXPECT_EQ(DecodeInt4(q, 1, 16, 16), zeros);
    EXPECT_EQ(q.error.mse, 0.0);
  }
}

}  // namespace
}  // namespace pq::quant
