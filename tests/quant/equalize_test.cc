// Cross-layer equalization (src/quant/equalize.cc, equalize_stage.cc and its
// place in quantize.cc): the scale rule on hand-checked values and on a
// depthwise weight's channel numbering; on a built depthwise -> Relu ->
// pointwise model whose depthwise channels span four decades, the equalized
// FP32 model computes the same within 1e-5 and both weights' per-channel
// ranges are equal; a Clip to [0, 6] between the Convs is refused and
// recorded; an output check that fails keeps the model as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "pq/executor.h"
#include "pq/npy.h"
#include "pq/quantize.h"
#include "quant/equalize.h"
#include "quant/equalize_stage.h"
#include "quant/float_type.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

constexpr int64_t kChannels = 4;
constexpr int64_t kSamples = 8;
// The equalized FP32 model's outputs may move by float rounding only.
constexpr double kMaxRelativeChange = 1e-5;
// After equalization each channel's two ranges agree within float rounding.
constexpr double kRangeAgreement = 1e-5;

TEST(EqualizationScalesTest, HandCheckedValues) {
  const std::vector<float> s = EqualizationScales({4.0f, 1.0f, 0.0f, 9.0f}, {1.0f, 4.0f, 2.0f, 1e-12f});
  EXPECT_FLOAT_EQ(s[0], 2.0f);   // sqrt(4 * 1) / 1
  EXPECT_FLOAT_EQ(s[1], 0.5f);   // sqrt(1 * 4) / 4
  EXPECT_FLOAT_EQ(s[2], 1.0f);   // a dead channel keeps 1
  EXPECT_FLOAT_EQ(s[3], 1.0f);   // below kEqualizeMinRange on the second side
}

TEST(EqualizationScalesTest, DepthwiseInputChannelsAreItsOutputChannels) {
  // [4, 1, 1, 2] with group 4: input channel i is output channel i's row.
  ConvWeight w{{4, 1, 1, 2}, {1, -2, 3, 0, 0, 0.5f, -7, 1}, 4};
  const std::vector<float> in = InputChannelRanges(w);
  EXPECT_EQ(in, (std::vector<float>{2, 3, 0.5f, 7}));
  EXPECT_EQ(OutputChannelRanges(w), in);
  // [2, 2, 1, 1], group 1: input channel j is column j.
  ConvWeight p{{2, 2, 1, 1}, {1, -5, 2, 3}, 1};
  EXPECT_EQ(InputChannelRanges(p), (std::vector<float>{2, 5}));
  MultiplyInputChannels({2.0f, 0.5f}, &p);
  EXPECT_EQ(p.values, (std::vector<float>{2, -2.5f, 4, 1.5f}));
}

// X[batch, 4, 6, 6] -> Conv(W1[4, 1, 3, 3], B1; group 4, pads 1) -> D -> `between` -> A
//   -> Conv(W2[6, 4, 1, 1], B2) -> Y. W1's channel c is scaled by 10^(c - 2).
onnx::ModelProto DepthwisePointwiseProto(const std::string& between) {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, kChannels, 6, 6}).Output("Y", {-1, 6, 6, 6});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w1(kChannels * 9);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] = u(rng) * std::pow(10.0f, static_cast<float>(i / 9) - 2.0f);
  b.Floats("W1", {kChannels, 1, 3, 3}, w1).Weight("B1", {kChannels}, 2).Weight("W2", {6, kChannels, 1, 1}, 3);
  b.Weight("B2", {6}, 4);
  onnx::NodeProto* dw = b.Node("Conv", {"X", "W1", "B1"}, {"D"}, "dw");
  testing::GraphBuilder::IntAttr(dw, "group", kChannels);
  testing::AddIntsAttr(dw, "pads", {1, 1, 1, 1});
  if (between == "Clip") {
    b.Floats("lo", {}, {0.0f}).Floats("hi", {}, {6.0f});
    b.Node("Clip", {"D", "lo", "hi"}, {"A"}, "relu6");
  } else {
    b.Node(between, {"D"}, {"A"}, "act");
  }
  b.Node("Conv", {"A", "W2", "B2"}, {"Y"}, "pw");
  return b.proto();
}

Tensor Inputs() {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(kSamples * kChannels * 36));
  for (float& v : x) v = normal(rng);
  return testing::Floats({kSamples, kChannels, 6, 6}, x);
}

std::vector<double> Outputs(const Model& model, const Tensor& x) {
  auto out = Executor::Create(model).value()->Run({{"X", x}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? testing::Values(out.value()[0]) : std::vector<double>{};
}

double RelativeL2(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += a[i] * a[i];
  }
  return std::sqrt(diff / norm);
}

ConvWeight WeightOf(const Model& model, const std::string& name, int64_t group) {
  const ConstantTensor* c = model.FindConstant(name);
  return ConvWeight{c->dims, ReadFloats(*c), group};
}

class EqualizeStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    x_ = Inputs();
    testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(x_));
    options_.scheme = "int8-sym";
    options_.calib_paths = {dir_.File("calib.npy")};
    options_.equalize = true;
  }
  testing::TempDir dir_;
  Tensor x_;
  QuantizeOptions options_;
};

TEST_F(EqualizeStageTest, KeepsFp32OutputsAndBalancesRanges) {
  std::unique_ptr<Model> model = testing::ModelOf(DepthwisePointwiseProto("Relu"));
  Result<EqualizeOutcome> eq = EqualizeConvPairs(*model, options_);
  ASSERT_TRUE(eq.ok()) << eq.status().ToString();
  ASSERT_NE(eq->model, nullptr);
  EXPECT_LE(RelativeL2(Outputs(*model, x_), Outputs(*eq->model, x_)), kMaxRelativeChange);
  const std::vector<float> r1 = OutputChannelRanges(WeightOf(*eq->model, "W1", kChannels));
  const std::vector<float> r2 = InputChannelRanges(WeightOf(*eq->model, "W2", 1));
  for (size_t i = 0; i < r1.size(); ++i) EXPECT_NEAR(r1[i], r2[i], kRangeAgreement * r2[i]) << i;
  ASSERT_EQ(eq->records.size(), 1u);
  const EqualizationRecord& r = eq->records[0];
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.first_node, "Conv 'dw'");
  EXPECT_EQ(r.second_node, "Conv 'pw'");
  EXPECT_EQ(r.between, std::vector<std::string>{"Relu 'act'"});
  EXPECT_EQ(r.channels, kChannels);
  EXPECT_LT(r.scale_min, 0.3);  // s_i ~ sqrt(r1_i / r2_i): W1 spans 1e-2 to 1
  EXPECT_GT(r.scale_max, 1.0);
  EXPECT_LT(r.first_range_ratio_before, 0.01);
  EXPECT_GT(r.first_range_ratio_after, 10 * r.first_range_ratio_before);
  ASSERT_EQ(eq->transformations.size(), 1u);
  EXPECT_NE(eq->transformations[0].find("outputs verified equal"), std::string::npos);
}

TEST_F(EqualizeStageTest, ClipWithAnUpperBoundIsRefusedAndRecorded) {
  std::unique_ptr<Model> model = testing::ModelOf(DepthwisePointwiseProto("Clip"));
  Result<EqualizeOutcome> eq = EqualizeConvPairs(*model, options_);
  ASSERT_TRUE(eq.ok()) << eq.status().ToString();
  EXPECT_EQ(eq->model, nullptr);
  EXPECT_TRUE(eq->transformations.empty());
  ASSERT_EQ(eq->records.size(), 1u);
  EXPECT_FALSE(eq->records[0].applied);
  EXPECT_NE(eq->records[0].not_applied.find("Clip 'relu6'"), std::string::npos) << eq->records[0].not_applied;
  EXPECT_NE(eq->records[0].not_applied.find("not positive-homogeneous"), std::string::npos);
}

TEST_F(EqualizeStageTest, AFailedOutputCheckKeepsTheModelAndSaysWhy) {
  // A tolerance no float rescaling meets stands in for an inexact rewrite.
  std::unique_ptr<Model> model = testing::ModelOf(DepthwisePointwiseProto("Relu"));
  Result<EqualizeOutcome> eq = EqualizeConvPairs(*model, options_, /*tolerance=*/1e-300);
  ASSERT_TRUE(eq.ok()) << eq.status().ToString();
  EXPECT_EQ(eq->model, nullptr);
  ASSERT_EQ(eq->records.size(), 1u);
  EXPECT_FALSE(eq->records[0].applied);
  EXPECT_NE(eq->records[0].not_applied.find("changed the FP32 outputs"), std::string::npos)
      << eq->records[0].not_applied;
  EXPECT_EQ(eq->records[0].first_range_ratio_after, eq->records[0].first_range_ratio_before);
  ASSERT_EQ(eq->warnings.size(), 1u);
  EXPECT_NE(eq->warnings[0].find("--equalize"), std::string::npos);
}

TEST_F(EqualizeStageTest, QuantizeRecordsThePairsAndNeedsNoData) {
  std::unique_ptr<Model> model = testing::ModelOf(DepthwisePointwiseProto("Relu"));
  QuantizeOptions weights_only = options_;
  weights_only.weights_only = true;
  weights_only.calib_paths.clear();  // the check runs on a generated sample
  Result<QuantizeOutcome> out = Quantize(*model, weights_only, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->equalization.size(), 1u);
  EXPECT_TRUE(out->equalization[0].applied);
  bool listed = false;
  for (const std::string& t : out->transformations) listed = listed || t.find("equalized Conv 'dw'") == 0;
  EXPECT_TRUE(listed);
  QuantizeOptions plain = weights_only;
  plain.equalize = false;
  Result<QuantizeOutcome> without = Quantize(*model, plain, {});
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->equalization.empty());
}

}  // namespace
}  // namespace pq::quant
