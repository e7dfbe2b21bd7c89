// Tests of src/quant/linear_quant.cc and the int8 schemes: known answers,
// rounding, per-channel vs per-tensor error, degenerate ranges, NaN/Inf.
#include "quant/linear_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <omp.h>

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
  EXPECT_FLOAT_EQ(static_cast<int8_t>(q->data[4]) * q->params.scale[1], -2.0f);
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
  // Channel 1's values as DequantizeLinear gives them back (zero points 0).
  auto channel1 = [](const QuantizedWeight& q) {
    std::vector<float> v(64);
    const float scale = q.params.scale[q.params.scale.size() - 1];
    for (size_t i = 0; i < 64; ++i) v[i] = static_cast<int8_t>(q.data[64 + i]) * scale;
    return v;
  };
  const ErrorMetrics pc = ComputeErrorMetrics(w.data() + 64, channel1(*per_channel).data(), 64);
  const ErrorMetrics pt = ComputeErrorMetrics(w.data() + 64, channel1(*per_tensor).data(), 64);
  constexpr double kMinInt8ChannelSqnrDb = 35.0;  // ~6 dB per bit, minus uniform-range loss
  EXPECT_GT(pc.sqnr_db, kMinInt8ChannelSqnrDb);
  EXPECT_LE(pt.sqnr_db, 1.0) << "per-tensor should wipe out the small channel";
}

// int8-asym's weights have zero point 0 by default and a zero point from
// the range with --asymmetric-weights.
TEST(LinearQuantTest, AsymmetricWeightsUseZeroPoints) {
  const std::vector<float> w = {0.0f, 1.0f, 2.0f, 3.0f};
  Result<QuantizedWeight> by_default = MakeInt8AsymmetricScheme()->QuantizeWeight({"w", w.data(), {4}, -1});
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(by_default->params.zero_point[0], 0);
  EXPECT_FLOAT_EQ(by_default->params.scale[0], 3.0f / 127);
  SchemeOptions options;
  options.asymmetric_weights = true;
  auto scheme = MakeInt8AsymmetricScheme(options);
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

namespace pq::quant {
namespace {

// The chunked, parallel quantizer agrees element by element with the scalar
// reference QuantizeValue on every layout (channel axis first, last, none),
// measures the same error as ComputeErrorMetrics on the dequantized values,
// and gives bit-identical results for 1 and 2 threads.
TEST(LinearQuantTest, ChunkedQuantizerMatchesTheScalarReference) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const std::vector<int64_t> shape = {37, 1500};  // > one chunk of 16384
  std::vector<float> w(37 * 1500);
  for (float& v : w) v = dist(rng);
  for (int64_t axis : {0, 1, -1}) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    const WeightView view{"w", w.data(), shape, axis};
    omp_set_num_threads(1);
    Result<QuantizedWeight> one = QuantizeLinearWeight(view, 2, 0, 255, false);
    omp_set_num_threads(2);
    Result<QuantizedWeight> two = QuantizeLinearWeight(view, 2, 0, 255, false);
    ASSERT_TRUE(one.ok() && two.ok());
    EXPECT_EQ(one->data, two->data);
    
    EXPECT_EQ(one->error.mse, two->error.mse);
    EXPECT_EQ(one->error.cosine, two->error.cosine);
    std::vector<float> dequantized(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      const size_t c = axis == 0 ? i / 1500 : axis == 1 ? i % 1500 : 0;
      const float scale = one->params.scale[c];
      const int64_t zp = one->params.zero_point[c];
      const int64_t expected = QuantizeValue(w[i], scale, zp, 0, 255);
      ASSERT_EQ(static_cast<uint8_t>(one->data[i]), expected) << "element " << i;
      dequantized[i] = static_cast<float>(expected - zp) * scale;
    }
    const ErrorMetrics reference =
        ComputeErrorMetrics(w.data(), dequantized.data(), static_cast<int64_t>(w.size()));
    EXPECT_NEAR(one->error.mse, reference.mse, 1e-9 * reference.mse);
    EXPECT_NEAR(one->error.sqnr_db, reference.sqnr_db, 1e-9);
    EXPECT_EQ(one->error.max_abs, reference.max_abs);
    EXPECT_NEAR(one->error.cosine, reference.cosine, 1e-12);
  }
}

}  // namespace
}  // namespace pq::quant
