// Direct tests of src/quant/int8_symmetric.cc (the int8-sym scheme): its
// activation grid and parameters, and the weights it stores.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int32_t kInt8 = 3;

std::unique_ptr<Scheme> Int8Sym() { return std::move(MakeScheme("int8-sym")).value(); }

TEST(Int8SymmetricTest, ActivationsAreInt8WithZeroPointZero) {
  auto s = Int8Sym();
  EXPECT_STREQ(s->Name(), "int8-sym");
  EXPECT_TRUE(s->QuantizesActivations());
  EXPECT_EQ(s->ActivationType(), kInt8);
  EXPECT_EQ(s->ActivationQmin(), -127);
  EXPECT_EQ(s->ActivationQmax(), 127);
  EXPECT_TRUE(s->ActivationSymmetric());
  // [-2, 1]: the larger magnitude 2 maps to 127.
  QuantParams p = s->ActivationParams(-2.0f, 1.0f);
  EXPECT_EQ(p.dtype, kInt8);
  EXPECT_EQ(p.axis, -1);
  EXPECT_EQ(p.scale, (std::vector<float>{2.0f / 127}));
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{0}));
  // A range that excludes 0 is widened to it: [0.5, 254] -> bound 254.
  p = s->ActivationParams(0.5f, 254.0f);
  EXPECT_EQ(p.scale, (std::vector<float>{2.0f}));
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{0}));
}

// Channel 0 {127, -63.5, 2.25} has scale 1, channel 1 {-254, 3, 1} scale 2:
// every quotient is exact, so the codes follow round-half-to-even exactly.
TEST(Int8SymmetricTest, PerChannelWeightKnownAnswer) {
  const std::vector<float> w = {127.0f, -63.5f, 2.25f, -254.0f, 3.0f, 1.0f};
  auto q = Int8Sym()->QuantizeWeight({"w", w.data(), {2, 3}, 0});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.dtype, kInt8);
  EXPECT_EQ(q->params.axis, 0);
  EXPECT_EQ(q->params.scale, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(q->params.zero_point, (std::vector<int64_t>{0, 0}));
  ASSERT_EQ(q->data.size(), 6u);
  const std::vector<int> expected = {127, -64, 2, -127, 2, 0};
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(static_cast<int8_t>(q->data[i]), expected[i]) << i;
  EXPECT_TRUE(q->storage_type.empty());
  EXPECT_FALSE(q->blockwise.has_value());
  // Dequantized {127, -64, 2, -254, 4, 0}: differences {0, .5, .25, 0, 1, 1}.
  constexpr double kTolerance = 1e-9;
  const double noise = 0.25 + 0.0625 + 1 + 1;
  double signal = 0;
  for (float v : w) signal += static_cast<double>(v) * v;
  EXPECT_NEAR(q->error.mse, noise / 6, kTolerance);
  EXPECT_NEAR(q->error.max_abs, 1.0, kTolerance);
  EXPECT_NEAR(q->error.sqnr_db, 10 * std::log10(signal / noise), kTolerance);
}

TEST(Int8SymmetricTest, PerTensorWeightKnownAnswer) {
  const std::vector<float> w = {127.0f, -63.5f, 2.25f, -254.0f, 3.0f, 1.0f};
  auto q = Int8Sym()->QuantizeWeight({"w", w.data(), {2, 3}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.axis, -1);
  EXPECT_EQ(q->params.scale, (std::vector<float>{2.0f}));
  EXPECT_EQ(q->params.zero_point, (std::vector<int64_t>{0}));
  const std::vector<int> expected = {64, -32, 1, -127, 2, 0};  // 63.5 -> 64, -31.75 -> -32
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(static_cast<int8_t>(q->data[i]), expected[i]) << i;
  EXPECT_NEAR(q->error.max_abs, 1.0, 1e-9);  // 127 -> 128, 3 -> 4, 1 -> 0
}

TEST(Int8SymmetricTest, NanAndInfAreRefusedNamingTheTensor) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
    const std::vector<float> w = {0.5f, 1.0f, bad, 2.0f};
    auto q = Int8Sym()->QuantizeWeight({"layer3.weight", w.data(), {2, 2}, 0});
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(q.status().message().find("'layer3.weight'"), std::string::npos) << q.status().message();
    EXPECT_NE(q.status().message().find("element 2"), std::string::npos) << q.status().message();
  }
}

TEST(Int8SymmetricTest, TakesEveryWeightAsDequantizeLinear) {
  auto s = Int8Sym();
  for (const WeightSite& site : {WeightSite{"Conv", {8, 3, 3, 3}, false},
                                 WeightSite{"ConvTranspose", {3, 8, 3, 3}, false},
                                 WeightSite{"MatMul", {2, 16, 16}, false},
                                 WeightSite{"Gemm", {16, 8}, true}}) {
    std::string reason = "untouched";
    EXPECT_TRUE(s->TakesWeight(site, &reason)) << site.op_type;
    EXPECT_EQ(reason, "untouched");
  }
  EXPECT_EQ(s->Encoding(), WeightEncoding::kDequantizeLinear);
  EXPECT_STREQ(s->Granularity(), "");
  EXPECT_GT(std::string(s->Summary()).size(), 0u);
}

}  // namespace
}  // namespace pq::quant
