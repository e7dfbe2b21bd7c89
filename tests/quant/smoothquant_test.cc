// SmoothQuant's numbers (src/quant/smoothquant.cc) on hand-checked values,
// its observer (channel_max_collector.cc), and AWQ's fold in its exact-only
// form (awq_fold.cc): a scaling with no exact fold is left out, weights and
// outputs untouched, while the others are applied and keep the outputs.
#include <gtest/gtest.h>

#include <cmath>

#include "exec/kernel_test_util.h"
#include "pq/executor.h"
#include "quant/awq_fold.h"
#include "quant/channel_max_collector.h"
#include "quant/smoothquant.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

// The fold may change the FP32 outputs by float rounding only (relative to
// the largest output).
constexpr double kMaxFoldError = 1e-5;

TEST(SmoothQuantScalesTest, HandCheckedValues) {
  const std::vector<float> act = {4.0f, 1.0f, 0.0f, 9.0f, 16.0f};
  const std::vector<float> w = {1.0f, 4.0f, 2.0f, 1e-7f, 0.25f};
  const std::vector<float> half = SmoothQuantScales(act, w, 0.5);
  EXPECT_FLOAT_EQ(half[0], 2.0f);    // sqrt(4) / sqrt(1)
  EXPECT_FLOAT_EQ(half[1], 0.5f);    // sqrt(1) / sqrt(4)
  EXPECT_FLOAT_EQ(half[2], 1.0f);    // dead activation channel: unscaled
  EXPECT_FLOAT_EQ(half[3], 1.0f);    // weight below kSmoothQuantMinMagnitude: unscaled
  EXPECT_FLOAT_EQ(half[4], 8.0f);    // sqrt(16) / sqrt(0.25)
  const std::vector<float> one = SmoothQuantScales(act, w, 1.0);
  EXPECT_FLOAT_EQ(one[0], 4.0f);     // alpha 1: s = max|X|
  EXPECT_FLOAT_EQ(one[4], 16.0f);
  const std::vector<float> zero = SmoothQuantScales(act, w, 0.0);
  EXPECT_FLOAT_EQ(zero[1], 0.25f);   // alpha 0: s = 1 / max|W|
  EXPECT_FLOAT_EQ(zero[4], 4.0f);
  // After smoothing with alpha 0.5, max|X_j / s_j| = max|W_j s_j| wherever s_j != 1.
  for (size_t j : {0u, 1u, 4u}) EXPECT_FLOAT_EQ(act[j] / half[j], w[j] * half[j]);
}

TEST(SmoothQuantScalesTest, InputFeatureMaxOfBothLayouts) {
  // K = 2, N = 3: as [K, N] row j is feature j; as [N, K] column j is.
  const std::vector<float> w = {1, -5, 2, 3, 0.5f, -4};
  std::vector<float> kn(2, 0.0f), nk(2, 0.0f);
  AccumulateInputFeatureMax(w, 2, true, &kn);
  AccumulateInputFeatureMax(w, 2, false, &nk);
  EXPECT_EQ(kn, (std::vector<float>{5, 4}));
  EXPECT_EQ(nk, (std::vector<float>{2, 5}));  // columns {1, 2, 0.5} and {-5, 3, -4}
  std::vector<float> more = {6, 0};
  AccumulateInputFeatureMax(w, 2, true, &more);  // accumulates over weights
  EXPECT_EQ(more, (std::vector<float>{6, 4}));
}

TEST(ChannelMaxCollectorTest, MaxOverEveryRowOfEveryRun) {
  ChannelMaxCollector c({{"A", 3}});
  c.OnTensor("A", testing::Floats({2, 3}, {1, -7, 2, -3, 0.5f, 1}));
  EXPECT_TRUE(c.Missing().empty());
  c.OnTensor("A", testing::Floats({1, 1, 3}, {0, 2, -9}));
  c.OnTensor("B", testing::Floats({1}, {100}));  // not wanted
  Result<std::map<std::string, std::vector<float>>> r = c.Results();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->at("A"), (std::vector<float>{3, 7, 9}));
}

TEST(ChannelMaxCollectorTest, WrongLayoutOrNeverSeenNamesTheTensor) {
  ChannelMaxCollector wrong({{"A", 3}});
  wrong.OnTensor("A", testing::Floats({3, 2}, {1, 2, 3, 4, 5, 6}));
  ASSERT_FALSE(wrong.Results().ok());
  EXPECT_NE(wrong.Results().status().message().find("'A'"), std::string::npos);
  ChannelMaxCollector missing({{"B", 2}});
  EXPECT_EQ(missing.Missing(), std::vector<std::string>{"B"});
  EXPECT_NE(missing.Results().status().message().find("'B'"), std::string::npos);
}

// X[-1, 8] -> LayerNormalization(g, b) -> N -> MatMul(W1) -> Y1;  X -> MatMul(W2) -> Y2, X -> Relu -> Y3
onnx::ModelProto NormProto() {
  testing::GraphBuilder b(17);
  b.Input("X", {-1, 8}).Output("Y1", {-1, 4}).Output("Y2", {-1, 4}).Output("Y3", {-1, 8});
  b.Weight("g", {8}, 1).Weight("b", {8}, 2).Weight("W1", {8, 4}, 3).Weight("W2", {8, 4}, 4);
  b.Node("LayerNormalization", {"X", "g", "b"}, {"N"}, "ln");
  b.Node("MatMul", {"N", "W1"}, {"Y1"}, "mm1");
  b.Node("MatMul", {"X", "W2"}, {"Y2"}, "mm2");
  b.Node("Relu", {"X"}, {"Y3"}, "relu");
  return b.proto();
}

std::vector<Tensor> RunModel(const Model& model, const Tensor& x) {
  auto executor = Executor::Create(model);
  EXPECT_TRUE(executor.ok()) << executor.status().ToString();
  auto out = executor.value()->Run({{"X", x}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : std::vector<Tensor>{};
}

TEST(ExactFoldTest, FoldsIntoLayerNormAndLeavesOutWhatHasNoExactFold) {
  const std::unique_ptr<Model> model = testing::ModelOf(NormProto());
  ASSERT_NE(model, nullptr);
  const std::vector<float> s1 = {0.5f, 2, 3, 0.25f, 1, 4, 0.75f, 1.5f};
  const std::vector<float> s2 = {2, 2, 2, 2, 2, 2, 2, 2};
  Result<ScaledModel> scaled = ApplyInputScales(*model, {{"N", {1}, s1}, {"X", {2}, s2}}, /*exact_only=*/true);
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  ASSERT_EQ(scaled->folds.size(), 2u);
  EXPECT_TRUE(scaled->folds[0].applied);
  EXPECT_EQ(scaled->folds[0].folded_into, "LayerNormalization 'ln'");
  EXPECT_FALSE(scaled->folds[1].applied);  // X is a graph input, read by Relu too
  EXPECT_FALSE(scaled->folds[1].inserted);
  EXPECT_EQ(testing::CountOpType(*scaled->model, "Mul"), 0);
  // W2 is untouched, W1 holds diag(s1) W1, g and b hold g / s1 and b / s1.
  auto floats = [](const Model& m, const std::string& name) {
    const ConstantTensor* c = m.FindConstant(name);
    const float* p = reinterpret_cast<const float*>(c->data);
    return std::vector<float>(p, p + c->element_count);
  };
  EXPECT_EQ(floats(*scaled->model, "W2"), floats(*model, "W2"));
  EXPECT_FLOAT_EQ(floats(*scaled->model, "W1")[5 * 4 + 2], floats(*model, "W1")[5 * 4 + 2] * 4);
  EXPECT_FLOAT_EQ(floats(*scaled->model, "b")[3], floats(*model, "b")[3] / 0.25f);
  std::vector<float> x(6 * 8);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 3 * std::sin(0.9f * static_cast<float>(i)) + (i % 8 == 2 ? 20 : 0);
  const Tensor input = testing::Floats({6, 8}, x);
  const std::vector<Tensor> before = RunModel(*model, input), after = RunModel(*scaled->model, input);
  ASSERT_EQ(before.size(), after.size());
  for (size_t o = 0; o < before.size(); ++o) {
    const std::vector<double> a = testing::Values(before[o]), b = testing::Values(after[o]);
    double top = 0, diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      top = std::max(top, std::abs(a[i]));
      diff = std::max(diff, std::abs(a[i] - b[i]));
    }
    EXPECT_LE(diff, kMaxFoldError * top) << "output " << o;
  }
}

}  // namespace
}  // namespace pq::quant
