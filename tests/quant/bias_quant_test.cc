// Direct tests of src/quant/bias_quant.cc: scales are input scale x weight
// scale (per channel or per tensor), values are rounded half to even and
// saturated to int32, stored little-endian, NaN/Inf refused naming the bias,
// and the error metrics measure what was stored.
#include "quant/bias_quant.h"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "onnx/onnx_pb.h"

namespace pq::quant {
namespace {

QuantParams PerTensor(float scale) {
  QuantParams p;
  p.scale = {scale};
  p.zero_point = {0};
  return p;
}

QuantParams PerChannel(std::vector<float> scales) {
  QuantParams p;
  p.scale = std::move(scales);
  p.zero_point.assign(p.scale.size(), 0);
  p.axis = 0;
  return p;
}

std::vector<int32_t> Stored(const QuantizedWeight& q) {
  std::vector<int32_t> v(q.data.size() / 4);
  std::memcpy(v.data(), q.data.data(), q.data.size());
  return v;
}

TEST(BiasQuantTest, PerChannelScaleIsInputScaleTimesEachWeightScale) {
  const float input_scale = 0.0173f;
  const std::vector<float> weight_scales = {0.5f, 0.0031f, 0.125f};
  const std::vector<float> bias = {0.2f, -0.01f, 3.0f};
  Result<QuantizedWeight> q = QuantizeBias("B", bias.data(), bias.size(), 0, PerTensor(input_scale),
                                           PerChannel(weight_scales));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.dtype, onnx::TensorProto::INT32);
  EXPECT_EQ(q->params.axis, 0);
  ASSERT_EQ(q->params.scale.size(), 3u);
  EXPECT_EQ(q->params.zero_point, (std::vector<int64_t>{0, 0, 0}));
  ASSERT_EQ(q->data.size(), 3u * 4u);
  const std::vector<int32_t> stored = Stored(q.value());
  for (size_t i = 0; i < 3; ++i) {
    const float s = input_scale * weight_scales[i];
    EXPECT_EQ(q->params.scale[i], s) << i;
    EXPECT_EQ(stored[i], static_cast<int32_t>(std::nearbyint(bias[i] / s))) << i;
  }
}

TEST(BiasQuantTest, PerTensorHasOneScale) {
  const std::vector<float> bias = {1.0f, -2.0f, 0.3f, 0.0f};
  Result<QuantizedWeight> q = QuantizeBias("B", bias.data(), bias.size(), -1, PerTensor(0.25f), PerTensor(0.5f));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->params.axis, -1);
  EXPECT_EQ(q->params.scale, (std::vector<float>{0.125f}));
  EXPECT_EQ(q->params.zero_point, (std::vector<int64_t>{0}));
  EXPECT_EQ(Stored(q.value()), (std::vector<int32_t>{8, -16, 2, 0}));  // 0.3 / 0.125 = 2.4
}

TEST(BiasQuantTest, RoundsHalfToEven) {
  const std::vector<float> bias = {0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f};
  Result<QuantizedWeight> q = QuantizeBias("B", bias.data(), bias.size(), -1, PerTensor(1), PerTensor(1));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Stored(q.value()), (std::vector<int32_t>{0, 2, 2, 4, 0, -2, -2}));
}

TEST(BiasQuantTest, StoresInt32LittleEndian) {
  const std::vector<float> bias = {16909060.0f, -2.0f};  // 0x01020304, 0xFFFFFFFE
  Result<QuantizedWeight> q = QuantizeBias("B", bias.data(), bias.size(), -1, PerTensor(1), PerTensor(1));
  ASSERT_TRUE(q.ok());
  const std::string expected("\x04\x03\x02\x01\xFE\xFF\xFF\xFF", 8);
  EXPECT_EQ(q->data, expected);
}

TEST(BiasQuantTest, HugeValuesSaturateAtInt32Bounds) {
  const std::vector<float> bias = {3e9f, -3e9f, 1e38f, -1e38f, 2147483520.0f};
  Result<QuantizedWeight> q = QuantizeBias("B", bias.data(), bias.size(), -1, PerTensor(1), PerTensor(1));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Stored(q.value()), (std::vector<int32_t>{INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN, 2147483520}));
}

TEST(BiasQuantTest, NanAndInfAreRefusedNamingTheBias) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    const std::vector<float> bias = {1.0f, bad};
    Result<QuantizedWeight> q =
        QuantizeBias("conv1.bias", bias.data(), bias.size(), 0, PerTensor(1), PerChannel({1, 1}));
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_EQ(q.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(q.status().message().find("'conv1.bias'"), std::string::npos) << q.status().message();
  }
}

// The metrics compare the FP32 bias with what the model gives back:
// q * scale (scale 0.25: 0.1 -> 0, 0.3 -> 0.25, -0.7 -> -0.75).
// Two tiny scales whose product underflows float32 would store scale 0 and
// drop the bias (or divide 0 by 0): refused naming the bias.
TEST(BiasQuantTest, UnderflowingScaleIsRefused) {
  const float bias[] = {0.0f, 1.0f};
  for (float weight_scale : {1e-30f, 0.0f}) {
    Result<QuantizedWeight> q =
        QuantizeBias("b", bias, 2, -1, PerTensor(1e-30f), PerTensor(weight_scale));
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(q.status().message().find("bias 'b'"), std::string::npos) << q.status().message();
  }
}

TEST(BiasQuantTest, ErrorMetricsMeasureTheStoredValues) {
  constexpr double kTolerance = 1e-9;
  constexpr double kFloatTolerance = 1e-6;  // 0.1f is not exactly 0.1
  const std::vector<float> bias = {0.1f, 0.3f, -0.7f};
  Result<QuantizedWeight> q = QuantizeBias("B", bias.data(), bias.size(), -1, PerTensor(0.5f), PerTensor(0.5f));
  ASSERT_TRUE(q.ok());
  const std::vector<float> back = {0.0f, 0.25f, -0.75f};
  const ErrorMetrics expected = ComputeErrorMetrics(bias.data(), back.data(), 3);
  EXPECT_NEAR(q->error.mse, expected.mse, kTolerance);
  EXPECT_NEAR(q->error.max_abs, 0.1, kFloatTolerance);
  EXPECT_NEAR(q->error.sqnr_db, expected.sqnr_db, kTolerance);
  EXPECT_NEAR(q->error.cosine, expected.cosine, kTolerance);
  // Exactly representable values: no error.
  const std::vector<float> exact = {0.25f, -1.0f};
  q = QuantizeBias("B", exact.data(), exact.size(), -1, PerTensor(0.5f), PerTensor(0.5f));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->error.mse, 0.0);
  EXPECT_EQ(q->error.max_abs, 0.0);
}

}  // namespace
}  // namespace pq::quant
