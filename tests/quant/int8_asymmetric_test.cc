// Direct tests of src/quant/int8_asymmetric.cc (the int8-asym scheme): uint8
// activations with zero points, int8 weights with or without them.
#include <gtest/gtest.h>

#include <limits>

#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int32_t kUint8 = 2;
constexpr int32_t kInt8 = 3;

// int8-asym with weight zero points (--asymmetric-weights) unless
// `symmetric_weights` (the default).
std::unique_ptr<Scheme> Int8Asym(bool symmetric_weights = false) {
  SchemeOptions o;
  o.asymmetric_weights = !symmetric_weights;
  return std::move(MakeScheme("int8-asym", o)).value();
}

TEST(Int8AsymmetricTest, ActivationsAreUint8WithAZeroPoint) {
  auto s = Int8Asym();
  EXPECT_STREQ(s->Name(), "int8-asym");
  EXPECT_TRUE(s->QuantizesActivations());
  EXPECT_EQ(s->ActivationType(), kUint8);
  EXPECT_EQ(s->ActivationQmin(), 0);
  EXPECT_EQ(s->ActivationQmax(), 255);
  EXPECT_FALSE(s->ActivationSymmetric());
  // [-1, 3]: scale 4/255; zero point nearbyint(1 / (4/255)) = nearbyint(63.75) = 64.
  QuantParams p = s->ActivationParams(-1.0f, 3.0f);
  EXPECT_EQ(p.dtype, kUint8);
  EXPECT_EQ(p.scale, (std::vector<float>{4.0f / 255}));
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{64}));
  // All-positive ranges start at 0 (zero point 0), all-negative end at 0 (255).
  p = s->ActivationParams(0.5f, 5.1f);
  EXPECT_EQ(p.scale, (std::vector<float>{5.1f / 255}));
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{0}));
  p = s->ActivationParams(-5.1f, -1.0f);
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{255}));
  // A constant zero activation still gets a usable scale.
  p = s->ActivationParams(0.0f, 0.0f);
  EXPECT_EQ(p.scale, (std::vector<float>{1.0f}));
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{0}));
}

// Channel {-1, 0, 3}: scale 4/255, zero point -128 + nearbyint(63.75) = -64;
// 3 -> 191 - 64 = 127, -1 -> -64 - 64 = -128, 0 -> the zero point.
TEST(Int8AsymmetricTest, WeightsHaveZeroPointsPerChannel) {
  const std::vector<float> w = {-1.0f, 0.0f, 3.0f, 0.0f, 1.0f, 2.0f};
  auto q = Int8Asym()->QuantizeWeight({"w", w.data(), {2, 3}, 0});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.dtype, kInt8);
  EXPECT_EQ(q->params.axis, 0);
  ASSERT_EQ(q->params.scale.size(), 2u);
  EXPECT_EQ(q->params.scale[0], 4.0f / 255);
  EXPECT_EQ(q->params.scale[1], 2.0f / 255);
  EXPECT_EQ(q->params.zero_point, (std::vector<int64_t>{-64, -128}));
  EXPECT_EQ(static_cast<int8_t>(q->data[0]), -128);
  EXPECT_EQ(static_cast<int8_t>(q->data[1]), -64);
  EXPECT_EQ(static_cast<int8_t>(q->data[2]), 127);
  EXPECT_EQ(static_cast<int8_t>(q->data[3]), -128);
  EXPECT_EQ(static_cast<int8_t>(q->data[5]), 127);
  // Each range end is hit exactly: the error is at most half a step.
  EXPECT_LE(q->error.max_abs, 0.5 * 4.0 / 255 + 1e-7);
  EXPECT_GT(q->error.cosine, 0.9999);
}

TEST(Int8AsymmetricTest, SymmetricWeightsHaveZeroPointZeroAndKeepActivationZeroPoints) {
  auto s = Int8Asym(/*symmetric_weights=*/true);
  const std::vector<float> w = {-1.0f, 0.0f, 3.0f};
  auto q = s->QuantizeWeight({"w", w.data(), {3}, -1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.dtype, kInt8);
  EXPECT_EQ(q->params.scale, (std::vector<float>{3.0f / 127}));
  EXPECT_EQ(q->params.zero_point, (std::vector<int64_t>{0}));
  EXPECT_EQ(static_cast<int8_t>(q->data[0]), -42);  // nearbyint(-42.33)
  EXPECT_EQ(static_cast<int8_t>(q->data[2]), 127);
  // -128 is never used with symmetric weights.
  const std::vector<float> neg = {-3.0f, 1.0f};
  q = s->QuantizeWeight({"neg", neg.data(), {2}, -1});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(static_cast<int8_t>(q->data[0]), -127);
  // Activations are still asymmetric uint8.
  QuantParams p = s->ActivationParams(-1.0f, 3.0f);
  EXPECT_EQ(p.dtype, kUint8);
  EXPECT_EQ(p.zero_point, (std::vector<int64_t>{64}));
}

TEST(Int8AsymmetricTest, NanAndInfAreRefusedNamingTheTensor) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    for (bool sym : {false, true}) {
      const std::vector<float> w = {bad, 1.0f};
      auto q = Int8Asym(sym)->QuantizeWeight({"fc.weight", w.data(), {2}, -1});
      ASSERT_FALSE(q.ok());
      EXPECT_EQ(q.status().code(), Status::Code::kInvalidInput);
      EXPECT_NE(q.status().message().find("'fc.weight'"), std::string::npos) << q.status().message();
    }
  }
}

TEST(Int8AsymmetricTest, TakesEveryWeightAsDequantizeLinear) {
  auto s = Int8Asym();
  std::string reason;
  EXPECT_TRUE(s->TakesWeight({"Conv", {4, 2, 3, 3}, false}, &reason));
  EXPECT_TRUE(s->TakesWeight({"Gemm", {4, 2}, true}, &reason));
  EXPECT_TRUE(reason.empty());
  EXPECT_EQ(s->Encoding(), WeightEncoding::kDequantizeLinear);
  EXPECT_GT(std::string(s->Summary()).size(), 0u);
}

}  // namespace
}  // namespace pq::quant
