// Direct tests of src/quant/int4_schemes.cc (int4-sym, int4-asym): which
// weights they take, the encoding and stored type per int4_format option,
// and what QuantizeWeight hands the writer. The INT4 arithmetic itself is
// tested in int4_blockwise_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int64_t kInt4DefaultBlock = 32;

std::unique_ptr<Scheme> Int4(const std::string& name, const std::string& format = "ort",
                             int64_t block = 0) {
  SchemeOptions o;
  o.int4_format = format;
  o.block_size = block;
  return std::move(MakeScheme(name, o)).value();
}

// [2, 64] integers in [-7, 7]: with absmax 7 per block, int4-sym is exact.
std::vector<float> SmallIntegers() {
  std::vector<float> w(128);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 15) - 7);
  return w;
}

TEST(Int4SchemesTest, NamesEncodingsAndStoredTypes) {
  for (const char* name : {"int4-sym", "int4-asym"}) {
    SCOPED_TRACE(name);
    const bool sym = std::string(name) == "int4-sym";
    auto ort = Int4(name, "ort");
    auto onnx = Int4(name, "onnx");
    EXPECT_STREQ(ort->Name(), name);
    EXPECT_FALSE(ort->QuantizesActivations());
    EXPECT_STREQ(ort->Granularity(), "per-block");
    EXPECT_GT(std::string(ort->Summary()).size(), 0u);
    EXPECT_EQ(ort->Encoding(), WeightEncoding::kMatMulNBits);
    EXPECT_EQ(onnx->Encoding(), WeightEncoding::kBlockedDequantizeLinear);
    const std::vector<float> w = SmallIntegers();
    auto q_ort = ort->QuantizeWeight({"w", w.data(), {2, 64}, -1});
    auto q_onnx = onnx->QuantizeWeight({"w", w.data(), {2, 64}, -1});
    ASSERT_TRUE(q_ort.ok() && q_onnx.ok());
    EXPECT_EQ(q_ort->storage_type, "uint4") << "MatMulNBits reads codes 0..15";
    EXPECT_EQ(q_onnx->storage_type, sym ? "int4" : "uint4");
  }
}

TEST(Int4SchemesTest, TakesOnly2dMatMulAndGemmWeights) {
  auto ort = Int4("int4-asym", "ort");
  std::string reason;
  EXPECT_TRUE(ort->TakesWeight({"MatMul", {64, 32}, false}, &reason));
  EXPECT_FALSE(ort->TakesWeight({"ConvTranspose", {4, 4, 3, 3}, false}, &reason));
  EXPECT_NE(reason.find("int4-asym"), std::string::npos) << reason;
  EXPECT_NE(reason.find("ConvTranspose"), std::string::npos) << reason;
  EXPECT_FALSE(ort->TakesWeight({"Gemm", {64}, false}, &reason));
  EXPECT_NE(reason.find("1 dims"), std::string::npos) << reason;
  EXPECT_FALSE(ort->TakesWeight({"Gemm", {64, 32}, true}, &reason));
  EXPECT_NE(reason.find("transA"), std::string::npos) << reason;
  EXPECT_TRUE(Int4("int4-asym", "onnx")->TakesWeight({"Gemm", {64, 32}, true}, &reason));
}

TEST(Int4SchemesTest, SymmetricBlocksKnownAnswer) {
  const std::vector<float> w = SmallIntegers();
  auto q = Int4("int4-sym")->QuantizeWeight({"w", w.data(), {2, 64}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.block_size, kInt4DefaultBlock);
  EXPECT_EQ(q->params.axis, 1) << "blocks run along K of [N, K]";
  // Every block of 32 consecutive values of i % 15 - 7 reaches +-7: scale 1.
  EXPECT_EQ(q->params.scale, std::vector<float>(4, 1.0f));
  EXPECT_EQ(q->params.zero_point, std::vector<int64_t>(4, 8));
  EXPECT_EQ(q->error.mse, 0.0);
  ASSERT_TRUE(q->blockwise.has_value());
  const BlockwisePacked& b = *q->blockwise;
  EXPECT_EQ(b.n, 2);
  EXPECT_EQ(b.k, 64);
  EXPECT_EQ(b.block_size, kInt4DefaultBlock);
  EXPECT_EQ(b.scales, q->params.scale);
  ASSERT_EQ(b.codes.size(), 64u);  // 2 x 2 blocks x 16 bytes
  // Elements 0 and 1 are -7 and -6: codes 1 and 2, the first in the low nibble.
  EXPECT_EQ(static_cast<uint8_t>(b.codes[0]), 0x21);
  EXPECT_TRUE(b.zero_points.empty()) << "symmetric: MatMulNBits' default zero point 8";
}

TEST(Int4SchemesTest, AsymmetricBlocksHavePackedZeroPoints) {
  std::vector<float> w(2 * 64);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 16);  // [0, 15] per block
  auto q = Int4("int4-asym")->QuantizeWeight({"w", w.data(), {2, 64}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.scale, std::vector<float>(4, 1.0f));
  EXPECT_EQ(q->params.zero_point, std::vector<int64_t>(4, 0));
  EXPECT_EQ(q->error.mse, 0.0);
  // [N, ceil(k_blocks / 2)] bytes: two zero points of 0 per row.
  EXPECT_EQ(q->blockwise->zero_points, std::string(2, '\0'));
}

TEST(Int4SchemesTest, BlockSizeOptionAndPartialBlocks) {
  const std::vector<float> w = SmallIntegers();
  auto q = Int4("int4-sym", "ort", 16)->QuantizeWeight({"w", w.data(), {2, 64}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.block_size, 16);
  EXPECT_EQ(q->params.scale.size(), 8u);
  // K = 40 with blocks of 32: two blocks per row, the second padded.
  std::vector<float> odd(3 * 40, 0.5f);
  q = Int4("int4-sym")->QuantizeWeight({"w", odd.data(), {3, 40}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.scale.size(), 6u);
  EXPECT_EQ(q->blockwise->codes.size(), 3u * 2 * 16);
}

TEST(Int4SchemesTest, NanAndInfAreRefusedNamingTheTensor) {
  for (const char* name : {"int4-sym", "int4-asym"}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
      std::vector<float> w = SmallIntegers();
      w[70] = bad;
      auto q = Int4(name)->QuantizeWeight({"mlp.up", w.data(), {2, 64}, -1});
      ASSERT_FALSE(q.ok()) << name;
      EXPECT_EQ(q.status().code(), Status::Code::kInvalidInput);
      EXPECT_NE(q.status().message().find("'mlp.up'"), std::string::npos) << q.status().message();
    }
  }
}

}  // namespace
}  // namespace pq::quant
