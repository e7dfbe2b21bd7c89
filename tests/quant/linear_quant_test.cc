// Tests of src/quant/linear_quant.cc and the int8 schemes: known answers,
// rounding, per-channel vs per-tensor error, degenerate ranges, NaN/Inf.
#include "quant/linear_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant/scheme.h"

namespace pq::quant {
namespace {

TEST(LinearQuantTest, RoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(QuantizeValue(2.5f, 1.0f, 0, -127, 127), 2);
  EXPECT_EQ(QuantizeValue(3.5f, 1.0f, 0, -127, 127), 4);
  EXPECT_EQ(QuantizeValue(-2.5f, 1.0f, 0, -127, 127), -2);
  EXPECT_EQ(QuantizeValue(1000.0f, 1.0f, 0, -127, 127), 127);
  EXPECT_EQ(QuantizeValue(-1000.0f, 1.0f, 10, 0, 255), 0);
  EXPECT_EQ(QuantizeValue(0.0f, 0.5f, 128, 0, 255), 128);
}

TEST(LinearQuantTest, SymmetricParamsUseTheLargerMagnitude) {
  float scale;
  int64_t zp;
  ChooseParams(-2.0f, 1.0f, -127, 127, true, &scale, &zp);
  EXPECT_FLOAT_EQ(scale, 2.0f / 127);
  EXPECT_EQ(zp, 0);
}

TEST(LinearQuantTest, AsymmetricRangeAlwaysIncludesZero) {
  float scale;
  int64_t zp;
  ChooseParams(1.0f, 3.0f, 0, 255, false, &scale, &zp);  // widened to [0, 3]
  EXPECT_FLOAT_EQ(scale, 3.0f / 255);
  EXPECT_EQ(zp, 0);
  ChooseParams(-1.0f, 3.0f, 0, 255, false, &scale, &zp);
  EXPECT_FLOAT_EQ(scale, 4.0f / 255);
  EXPECT_EQ(zp, 64);  // nearbyint(1 / (4/255)) = nearbyint(63.75)
  // Zero itself is exactly representable.
  EXPECT_EQ(QuantizeValue(0.0f, scale, zp, 0, 255), zp);
}

TEST(LinearQuantTest, ZeroWidthRangeGetsAValidScale) {
  float scale;
  int64_t zp;
  ChooseParams(0.0f, 0.0f, -127, 127, true, &scale, &zp);
  EXPECT_GT(scale, 0.0f);
  ChooseParams(0.0f, 0.0f, 0, 255, false, &scale, &zp);
  EXPECT_GT(scale, 0.0f);
  EXPECT_TRUE(std::isfinite(scale));
}

TEST(LinearQuantTest, AllZeroChannelQuantizesToZeros) {
  const std::vector<float> w = {0, 0, 0, 1, -2, 0.5f};
  WeightView view{"w", w.data(), {2, 3}, 0};
  Result<QuantizedWeight> q = QuantizeLinearWeight(view, 3, -127, 127, true);
  ASSERT_TRUE(q.ok());
  EXPECT_GT(q->params.scale[0], 0.0f);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(q->data[static_cast<size_t>(i)], 0);
  EXPECT_FLOAT_EQ(q->params.scale[1], 2.0f / 127);
  EXPECT_EQ(static_cast<int8_t>(q->data[4]), -127);
  EXPECT_FLOAT_EQ(q->dequantized[4], -2.0f);
}

TEST(LinearQuantTest, RefusesNanAndInfNamingTheTensor) {
  for (float bad : {std::nanf(""), INFINITY}) {
    const std::vector<float> w = {1, bad};
    WeightView view{"conv1.weight", w.data(), {2}, -1};
    Result<QuantizedWeight> q = QuantizeLinearWeight(view, 3, -127, 127, true);
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(q.status().message().find("conv1.weight"), std::string::npos);
  }
}

TEST(LinearQuantTest, PerChannelBeatsPerTensorOnVeryDifferentChannels) {
  // Channel 0 spans +-100, channel 1 spans +-0.01: per-tensor crushes channel 1.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> w(2 * 64);
  for (int i = 0; i < 64; ++i) w[static_cast<size_t>(i)] = 100.0f * dist(rng);
  for (int i = 64; i < 128; ++i) w[static_cast<size_t>(i)] = 0.01f * dist(rng);
  auto scheme = MakeInt8SymmetricScheme();
  Result<QuantizedWeight> per_channel = scheme->QuantizeWeight({"w", w.data(), {2, 64}, 0});
  Result<QuantizedWeight> per_tensor = scheme->QuantizeWeight({"w", w.data(), {2, 64}, -1});
  ASSERT_TRUE(per_channel.ok() && per_tensor.ok());
  const ErrorMetrics pc = ComputeErrorMetrics(w.data() + 64, per_channel->dequantized.data() + 64, 64);
  const ErrorMetrics pt = ComputeErrorMetrics(w.data() + 64, per_tensor->dequantized.data() + 64, 64);
  constexpr double kMinInt8ChannelSqnrDb = 35.0;  // ~6 dB per bit, minus uniform-range loss
  EXPECT_GT(pc.sqnr_db, kMinInt8ChannelSqnrDb);
  EXPECT_LE(pt.sqnr_db, 1.0) << "per-tensor should wipe out the small channel";
}

TEST(LinearQuantTest, AsymmetricWeightsUseZeroPoints) {
  const std::vector<float> w = {0.0f, 1.0f, 2.0f, 3.0f};
  auto scheme = MakeInt8AsymmetricScheme();
  Result<QuantizedWeight> q = scheme->QuantizeWeight({"w", w.data(), {4}, -1});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->params.dtype, 3);
  EXPECT_EQ(q->params.zero_point[0], -128);
  EXPECT_FLOAT_EQ(q->params.scale[0], 3.0f / 255);
  EXPECT_EQ(static_cast<int8_t>(q->data[3]), 127);
}

TEST(ErrorMetricsTest, ExactCopyHasInfiniteSqnr) {
  const std::vector<float> a = {1, 2, 3};
  ErrorMetrics m = ComputeErrorMetrics(a.data(), a.data(), 3);
  EXPECT_TRUE(std::isinf(m.sqnr_db));
  EXPECT_EQ(m.mse, 0);
  EXPECT_DOUBLE_EQ(m.cosine, 1.0);
  const std::vector<float> b = {1, 2, 4};
  m = ComputeErrorMetrics(a.data(), b.data(), 3);
  EXPECT_NEAR(m.mse, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.sqnr_db, 10 * std::log10(14.0), 1e-9);
  EXPECT_DOUBLE_EQ(m.max_abs, 1.0);
}

TEST(SchemeTableTest, ListsInt8SchemesAndRefusesUnknownNames) {
  ASSERT_GE(SchemeTable().size(), 2u);
  EXPECT_STREQ(SchemeTable()[0].name, "int8-sym");
  EXPECT_STREQ(SchemeTable()[1].name, "int8-asym");
  Result<std::unique_ptr<Scheme>> bad = MakeScheme("int7");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("int8-sym, int8-asym"), std::string::npos);
}

}  // namespace
}  // namespace pq::quant
