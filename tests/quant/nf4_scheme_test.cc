// Direct tests of src/quant/nf4_scheme.cc (the nf4 scheme): which weights it
// takes, how each nf4_format option is encoded, and what QuantizeWeight
// hands the writer. The NF4 arithmetic itself is tested in nf4_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/nf4.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int64_t kNf4DefaultBlock = 64;

std::unique_ptr<Scheme> Nf4(const std::string& format = "ort", int64_t block = 0, bool dq = false) {
  SchemeOptions o;
  o.nf4_format = format;
  o.block_size = block;
  o.double_quant = dq;
  return std::move(MakeScheme("nf4", o)).value();
}

// [rows, 64]: row r holds the 16 NF4 levels four times, times `absmax[r]`,
// so every value is exactly representable.
std::vector<float> LevelRows(const std::vector<float>& absmax) {
  std::vector<float> w;
  for (float a : absmax) {
    for (int i = 0; i < 64; ++i) w.push_back(kNf4Levels[static_cast<size_t>(i % 16)] * a);
  }
  return w;
}

TEST(Nf4SchemeTest, IsWeightsOnlyAndPerBlock) {
  auto s = Nf4();
  EXPECT_STREQ(s->Name(), "nf4");
  EXPECT_FALSE(s->QuantizesActivations());
  EXPECT_STREQ(s->Granularity(), "per-block");
  EXPECT_GT(std::string(s->Summary()).size(), 0u);
}

TEST(Nf4SchemeTest, EncodingFollowsTheFormatOption) {
  EXPECT_EQ(Nf4("ort")->Encoding(), WeightEncoding::kMatMulBnb4);
  EXPECT_EQ(Nf4("onnx")->Encoding(), WeightEncoding::kCodebookDecode);
}

TEST(Nf4SchemeTest, TakesOnly2dMatMulAndGemmWeights) {
  auto ort = Nf4("ort");
  auto onnx = Nf4("onnx");
  std::string reason;
  EXPECT_TRUE(ort->TakesWeight({"MatMul", {64, 32}, false}, &reason));
  EXPECT_TRUE(ort->TakesWeight({"Gemm", {64, 32}, false}, &reason));
  EXPECT_FALSE(ort->TakesWeight({"Conv", {8, 4, 3, 3}, false}, &reason));
  EXPECT_NE(reason.find("nf4"), std::string::npos) << reason;
  EXPECT_NE(reason.find("Conv"), std::string::npos) << reason;
  EXPECT_FALSE(ort->TakesWeight({"MatMul", {2, 64, 32}, false}, &reason));
  EXPECT_NE(reason.find("3 dims"), std::string::npos) << reason;
  // Gemm transA=1 has no fused MatMulBnb4 form, but standard ops handle it.
  EXPECT_FALSE(ort->TakesWeight({"Gemm", {64, 32}, true}, &reason));
  EXPECT_NE(reason.find("transA"), std::string::npos) << reason;
  EXPECT_TRUE(onnx->TakesWeight({"Gemm", {64, 32}, true}, &reason));
}

TEST(Nf4SchemeTest, ExactLevelsRoundTripWithAbsmaxPerBlock) {
  const std::vector<float> w = LevelRows({2.0f, 0.5f});
  auto q = Nf4("ort")->QuantizeWeight({"w", w.data(), {2, 64}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->storage_type, "nf4");
  EXPECT_EQ(q->params.block_size, kNf4DefaultBlock);
  EXPECT_EQ(q->params.scale, (std::vector<float>{2.0f, 0.5f}));
  EXPECT_EQ(q->error.mse, 0.0);
  EXPECT_TRUE(std::isinf(q->error.sqnr_db));
  ASSERT_TRUE(q->blockwise.has_value());
  const BlockwisePacked& b = *q->blockwise;
  EXPECT_EQ(b.n, 2);
  EXPECT_EQ(b.k, 64);
  EXPECT_EQ(b.block_size, kNf4DefaultBlock);
  EXPECT_EQ(b.scales, q->params.scale) << "the absmax written is the absmax recorded";
  EXPECT_EQ(b.quant_type, 1);
  ASSERT_EQ(b.codes.size(), 64u);  // 128 codes, two per byte
  // Element 0 is level 0 (code 0), element 1 code 1: first in the high nibble.
  EXPECT_EQ(static_cast<uint8_t>(b.codes[0]), 0x01);
  EXPECT_TRUE(b.codebook.empty()) << "MatMulBnb4 knows the codebook";
  EXPECT_FALSE(b.double_quant.has_value());
}

TEST(Nf4SchemeTest, OnnxFormCarriesTheCodebook) {
  const std::vector<float> w = LevelRows({1.0f});
  auto q = Nf4("onnx")->QuantizeWeight({"w", w.data(), {1, 64}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_TRUE(q->blockwise.has_value());
  EXPECT_EQ(q->blockwise->codebook, std::vector<float>(kNf4Levels.begin(), kNf4Levels.end()));
}

TEST(Nf4SchemeTest, BlockSizeOptionSetsTheNumberOfScales) {
  const std::vector<float> w = LevelRows({2.0f, 0.5f});
  auto q = Nf4("ort", 32)->QuantizeWeight({"w", w.data(), {2, 64}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.block_size, 32);
  EXPECT_EQ(q->blockwise->block_size, 32);
  EXPECT_EQ(q->params.scale, (std::vector<float>{2.0f, 2.0f, 0.5f, 0.5f}));
  // Blocks run over the flattened [N, K] weight: 128 values in 128-blocks = 1 scale.
  q = Nf4("ort", 128)->QuantizeWeight({"w", w.data(), {2, 64}, -1});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->params.scale, (std::vector<float>{2.0f}));
}

TEST(Nf4SchemeTest, DoubleQuantAppliesToTheOnnxFormOnly) {
  const std::vector<float> w = LevelRows({2.0f, 0.5f, 1.0f});
  auto ort = Nf4("ort", 0, true)->QuantizeWeight({"w", w.data(), {3, 64}, -1});
  ASSERT_TRUE(ort.ok());
  EXPECT_FALSE(ort->blockwise->double_quant.has_value()) << "MatMulBnb4 reads float absmax";
  EXPECT_EQ(ort->blockwise->scales, (std::vector<float>{2.0f, 0.5f, 1.0f}));
  auto onnx = Nf4("onnx", 0, true)->QuantizeWeight({"w", w.data(), {3, 64}, -1});
  ASSERT_TRUE(onnx.ok());
  ASSERT_TRUE(onnx->blockwise->double_quant.has_value());
  const ScaleDoubleQuant& dq = *onnx->blockwise->double_quant;
  EXPECT_TRUE(onnx->blockwise->scales.empty()) << "the absmax is written as codes";
  ASSERT_EQ(onnx->params.scale.size(), 3u);
  ASSERT_EQ(dq.codes.size(), 3u);  // one block: stored unpadded
  // The recorded scale is what the codes reconstruct.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FLOAT_EQ(onnx->params.scale[i], static_cast<float>(dq.codes[i]) *
                                               dq.scales[i / static_cast<size_t>(dq.block_size)] +
                                           dq.offset);
  }
  constexpr double kMaxAbsmaxError = 1.5 / 127;  // a code step for deviations up to 1.5
  EXPECT_NEAR(onnx->params.scale[1], 0.5f, kMaxAbsmaxError);
  EXPECT_GT(onnx->error.mse, 0.0) << "reconstructed absmax is measured, not the exact one";
}

TEST(Nf4SchemeTest, NanAndInfAreRefusedNamingTheTensor) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> w = LevelRows({1.0f});
    w[40] = bad;
    auto q = Nf4()->QuantizeWeight({"proj.weight", w.data(), {1, 64}, -1});
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(q.status().message().find("'proj.weight'"), std::string::npos) << q.status().message();
    EXPECT_NE(q.status().message().find("element 40"), std::string::npos) << q.status().message();
  }
}

}  // namespace
}  // namespace pq::quant
