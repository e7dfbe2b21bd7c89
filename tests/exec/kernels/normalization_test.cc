// Tests of src/exec/kernels/normalization.cc (beyond ONNX's conformance
// cases): BatchNormalization (inference), LayerNormalization (with its mean
// and inverse-std outputs) and InstanceNormalization against naive double
// references, and refused parameter shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

using testing::Floats;
using testing::MakeNode;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

// |pq - reference| for normalized outputs of magnitude ~1 to ~10 (float
// arithmetic against double).
constexpr double kNormTolerance = 1e-5;

// Deterministic, non-trivial float data with a per-element offset, so that
// means and variances differ between rows and channels.
Tensor Wave(std::vector<int64_t> shape, float step, float phase, float offset = 0.0f) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) {
    t.data<float>()[i] = std::sin(step * static_cast<float>(i) + phase) * 2.0f + offset;
  }
  return t;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], kNormTolerance) << "element " << i;
  }
}

// Mean and 1 / sqrt(variance + epsilon) of `count` floats, in double.
void Moments(const float* x, int64_t count, float epsilon, double* mean, double* inv_std) {
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < count; ++i) sum += x[i];
  *mean = sum / static_cast<double>(count);
  for (int64_t i = 0; i < count; ++i) sq += (x[i] - *mean) * (x[i] - *mean);
  *inv_std = 1.0 / std::sqrt(sq / static_cast<double>(count) + epsilon);
}

TEST(NormalizationTest, BatchNormalizationMatchesReference) {
  constexpr int64_t kBatch = 2, kChannels = 3, kInner = 4 * 5;
  constexpr float kEpsilon = 1e-3f;
  const Tensor x = Wave({kBatch, kChannels, 4, 5}, 0.13f, 0.2f, 0.5f);
  const Tensor scale = Floats({kChannels}, {1.5f, -0.5f, 2.0f});
  const Tensor bias = Floats({kChannels}, {0.1f, 0.2f, -0.3f});
  const Tensor mean = Floats({kChannels}, {0.4f, -1.0f, 0.0f});
  const Tensor var = Floats({kChannels}, {0.25f, 4.0f, 1.0f});
  OneNodeCase c;
  c.node = MakeNode("BatchNormalization", {"X", "scale", "B", "mean", "var"}, {"Y"});
  SetAttr(&c.node, "epsilon", kEpsilon);
  c.inputs = {{"X", x}};
  c.constants = {{"scale", scale}, {"B", bias}, {"mean", mean}, {"var", var}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> want;
  for (int64_t n = 0; n < kBatch; ++n) {
    for (int64_t ch = 0; ch < kChannels; ++ch) {
      const double inv_std = 1.0 / std::sqrt(static_cast<double>(var.data<float>()[ch]) + kEpsilon);
      for (int64_t i = 0; i < kInner; ++i) {
        const double v = x.data<float>()[(n * kChannels + ch) * kInner + i];
        want.push_back(scale.data<float>()[ch] * (v - mean.data<float>()[ch]) * inv_std +
                       bias.data<float>()[ch]);
      }
    }
  }
  EXPECT_EQ(out.value()[0].shape(), x.shape());
  ExpectNear(Values(out.value()[0]), want);
}

TEST(NormalizationTest, BatchNormalizationWithWrongParameterLengthIsAnErrorNamingTheNode) {
  OneNodeCase c;
  c.node = MakeNode("BatchNormalization", {"X", "scale", "B", "mean", "var"}, {"Y"});
  c.inputs = {{"X", Wave({1, 3, 2, 2}, 0.5f, 0.0f)}};
  c.constants = {{"scale", Floats({2}, {1, 1})}, {"B", Floats({3}, {})},
                 {"mean", Floats({3}, {})}, {"var", Floats({3}, {1, 1, 1})}};
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("BatchNormalization_node"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input 1 must hold 3 float values, has 2"), std::string::npos) << msg;
}

// LayerNormalization of X [2, 3, 4] over the dims from `axis` on, with Scale
// and B shaped as those dims; checks Y, Mean and InvStdDev.
void CheckLayerNormalization(int64_t axis) {
  SCOPED_TRACE(::testing::Message() << "axis=" << axis);
  constexpr float kEpsilon = 1e-5f;
  const std::vector<int64_t> shape = {2, 3, 4};
  const size_t first = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
  const std::vector<int64_t> normalized(shape.begin() + static_cast<int64_t>(first), shape.end());
  const Tensor x = Wave(shape, 0.71f, 0.3f, 1.0f);
  const Tensor scale = Wave(normalized, 0.5f, 1.0f, 1.0f);
  const Tensor bias = Wave(normalized, 0.3f, 2.0f);
  OneNodeCase c;
  c.node = MakeNode("LayerNormalization", {"X", "Scale", "B"}, {"Y", "Mean", "InvStdDev"});
  SetAttr(&c.node, "axis", axis);
  c.inputs = {{"X", x}};
  c.constants = {{"Scale", scale}, {"B", bias}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out.value().size(), 3u);
  const int64_t inner = scale.size(), outer = x.size() / inner;
  std::vector<double> want_y, want_mean, want_inv;
  for (int64_t o = 0; o < outer; ++o) {
    const float* row = x.data<float>() + o * inner;
    double mean, inv_std;
    Moments(row, inner, kEpsilon, &mean, &inv_std);
    for (int64_t i = 0; i < inner; ++i) {
      want_y.push_back((row[i] - mean) * inv_std * scale.data<float>()[i] + bias.data<float>()[i]);
    }
    want_mean.push_back(mean);
    want_inv.push_back(inv_std);
  }
  std::vector<int64_t> stat_shape = shape;
  for (size_t d = first; d < stat_shape.size(); ++d) stat_shape[d] = 1;
  EXPECT_EQ(out.value()[0].shape(), shape);
  EXPECT_EQ(out.value()[1].shape(), stat_shape);
  EXPECT_EQ(out.value()[2].shape(), stat_shape);
  ExpectNear(Values(out.value()[0]), want_y);
  ExpectNear(Values(out.value()[1]), want_mean);
  ExpectNear(Values(out.value()[2]), want_inv);
}

TEST(NormalizationTest, LayerNormalizationOverLastAxisMatchesReference) {
  CheckLayerNormalization(-1);
}

TEST(NormalizationTest, LayerNormalizationOverTrailingTwoAxesMatchesReference) {
  CheckLayerNormalization(1);
}

TEST(NormalizationTest, LayerNormalizationWithMismatchedScaleIsAnErrorNamingTheNode) {
  OneNodeCase c;
  c.node = MakeNode("LayerNormalization", {"X", "Scale"}, {"Y"});
  c.inputs = {{"X", Wave({2, 4}, 0.5f, 0.0f)}};
  c.constants = {{"Scale", Floats({3}, {1, 1, 1})}};
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("LayerNormalization_node"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Scale [3] does not match the normalized 4 values"), std::string::npos) << msg;
}

TEST(NormalizationTest, InstanceNormalizationMatchesReference) {
  constexpr int64_t kBatch = 2, kChannels = 3, kInner = 6;
  constexpr float kEpsilon = 1e-4f;
  const Tensor x = Wave({kBatch, kChannels, 2, 3}, 0.83f, 0.1f, 0.7f);
  const Tensor scale = Floats({kChannels}, {0.5f, 1.0f, -2.0f});
  const Tensor bias = Floats({kChannels}, {0.0f, 1.0f, 0.25f});
  OneNodeCase c;
  c.node = MakeNode("InstanceNormalization", {"X", "scale", "B"}, {"Y"});
  SetAttr(&c.node, "epsilon", kEpsilon);
  c.inputs = {{"X", x}};
  c.constants = {{"scale", scale}, {"B", bias}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> want;
  for (int64_t n = 0; n < kBatch; ++n) {
    for (int64_t ch = 0; ch < kChannels; ++ch) {
      const float* plane = x.data<float>() + (n * kChannels + ch) * kInner;
      double mean, inv_std;
      Moments(plane, kInner, kEpsilon, &mean, &inv_std);
      for (int64_t i = 0; i < kInner; ++i) {
        want.push_back((plane[i] - mean) * inv_std * scale.data<float>()[ch] +
                       bias.data<float>()[ch]);
      }
    }
  }
  EXPECT_EQ(out.value()[0].shape(), x.shape());
  ExpectNear(Values(out.value()[0]), want);
}

TEST(NormalizationTest, InstanceNormalizationOfRankTwoIsAnErrorNamingTheNode) {
  OneNodeCase c;
  c.node = MakeNode("InstanceNormalization", {"X", "scale", "B"}, {"Y"});
  c.inputs = {{"X", Wave({2, 3}, 0.5f, 0.0f)}};
  c.constants = {{"scale", Floats({3}, {1, 1, 1})}, {"B", Floats({3}, {})}};
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("InstanceNormalization_node"), std::string::npos) << msg;
  EXPECT_NE(msg.find("X must have at least 3 dims"), std::string::npos) << msg;
}

TEST(NormalizationTest, LrnMatchesTheChannelWindowReference) {
  // size 4: window [c - 1, c + 2] clipped to the channels.
  const Tensor x = Wave({2, 5, 3}, 0.7f, 0.3f);
  OneNodeCase c;
  c.node = MakeNode("LRN", {"X"}, {"Y"});
  SetAttr(&c.node, "size", int64_t{4});
  SetAttr(&c.node, "alpha", 0.5f);
  SetAttr(&c.node, "beta", 0.6f);
  SetAttr(&c.node, "bias", 1.5f);
  c.inputs = {{"X", x}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> want;
  const float* p = x.data<float>();
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t ch = 0; ch < 5; ++ch) {
      for (int64_t i = 0; i < 3; ++i) {
        double sum = 0;
        for (int64_t k = std::max<int64_t>(0, ch - 1); k <= std::min<int64_t>(4, ch + 2); ++k) {
          const double v = p[(n * 5 + k) * 3 + i];
          sum += v * v;
        }
        want.push_back(p[(n * 5 + ch) * 3 + i] / std::pow(1.5 + 0.5 / 4 * sum, 0.6));
      }
    }
  }
  ExpectNear(Values(out.value()[0]), want);
  c.node = MakeNode("LRN", {"X"}, {"Y"});
  c.node.set_name("lrn");
  auto missing = RunOneNode(c);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("lrn"), std::string::npos);
  EXPECT_NE(missing.status().message().find("size"), std::string::npos);
}

TEST(NormalizationTest, MeanVarianceNormalizationOverGivenAxes) {
  // Normalised over axis 1 of [2, 4]: each row to mean 0, unit deviation.
  OneNodeCase c;
  c.node = MakeNode("MeanVarianceNormalization", {"X"}, {"Y"});
  SetAttr(&c.node, "axes", std::vector<int64_t>{1});
  c.inputs = {{"X", Floats({2, 4}, {1, 2, 3, 4, 10, 10, 30, 30})}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const double s = std::sqrt(1.25);
  ExpectNear(Values(out.value()[0]), {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, -1, -1, 1, 1});
  c.node = MakeNode("MeanVarianceNormalization", {"X"}, {"Y"});
  c.node.set_name("mvn");
  SetAttr(&c.node, "axes", std::vector<int64_t>{2});
  auto bad = RunOneNode(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("mvn"), std::string::npos);
  EXPECT_NE(bad.status().message().find("axis 2"), std::string::npos);
}

}  // namespace
}  // namespace pq
