// Tests of src/exec/kernels/loss.cc (beyond ONNX's conformance cases):
// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against hand
// computations on [N, C, d] inputs with weights and ignore_index, and
// inputs that must be refused with a Status naming the node.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

constexpr double kTolerance = 1e-6;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Result<std::vector<Tensor>> RunLoss(const std::string& op, const Tensor& x, const Tensor& labels,
                                    const Tensor* weight, const std::string& reduction,
                                    const int64_t* ignore_index, int outputs = 1) {
  OneNodeCase c;
  std::vector<std::string> ins = {"x", "t"};
  if (weight != nullptr) ins.push_back("w");
  std::vector<std::string> outs = {"loss"};
  if (outputs > 1) outs.push_back("log_prob");
  c.node = MakeNode(op, ins, outs);
  c.node.set_name("loss_node");
  SetAttr(&c.node, "reduction", reduction);
  if (ignore_index != nullptr) SetAttr(&c.node, "ignore_index", *ignore_index);
  c.inputs = {{"x", x}, {"t", labels}};
  if (weight != nullptr) c.inputs["w"] = *weight;
  c.opset = 13;
  return RunOneNode(c);
}

TEST(NegativeLogLikelihoodLoss, WeightedMeanSkipsIgnoredPositions) {
  // x [2, 3, 2] = log-probabilities (any values), labels [2, 2].
  const Tensor x = Floats({2, 3, 2}, {-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12});
  const Tensor labels = Int64s({2, 2}, {0, 2, 1, 1});
  const Tensor w = Floats({3}, {0.5f, 2.0f, 3.0f});
  const int64_t ignore = 1;
  // Kept: (n0, d0, t0) -x[0,0,0]*0.5 = 0.5; (n0, d1, t2) -x[0,2,1]*3 = 18.
  auto mean = RunLoss("NegativeLogLikelihoodLoss", x, labels, &w, "mean", &ignore);
  ASSERT_TRUE(mean.ok()) << mean.status().ToString();
  EXPECT_TRUE(mean.value()[0].shape().empty());
  EXPECT_NEAR(Values(mean.value()[0])[0], (0.5 + 18.0) / (0.5 + 3.0), kTolerance);
  auto none = RunLoss("NegativeLogLikelihoodLoss", x, labels, &w, "none", &ignore);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(Values(none.value()[0]), (std::vector<double>{0.5, 18, 0, 0}));
  auto sum = RunLoss("NegativeLogLikelihoodLoss", x, labels, nullptr, "sum", nullptr);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_NEAR(Values(sum.value()[0])[0], 1 + 6 + 9 + 10, kTolerance);
}

TEST(SoftmaxCrossEntropyLoss, MatchesLogSoftmaxAndReturnsLogProb) {
  const Tensor x = Floats({2, 3}, {1, 2, 3, 0, 0, 10});
  const Tensor labels = Int64s({2}, {2, 0});
  auto out = RunLoss("SoftmaxCrossEntropyLoss", x, labels, nullptr, "mean", nullptr, 2);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double lse1 = std::log(2.0 + std::exp(10.0));
  EXPECT_NEAR(Values(out.value()[0])[0], ((lse0 - 3) + (lse1 - 0)) / 2, kTolerance);
  const std::vector<double> log_prob = Values(out.value()[1]);
  ASSERT_EQ(log_prob.size(), 6u);
  EXPECT_NEAR(log_prob[0], 1 - lse0, kTolerance);
  EXPECT_NEAR(log_prob[5], 10 - lse1, kTolerance);
}

TEST(LossKernels, RefuseBadLabelsShapesAndReduction) {
  const Tensor x = Floats({2, 3}, {1, 2, 3, 4, 5, 6});
  auto range = RunLoss("NegativeLogLikelihoodLoss", x, Int64s({2}, {0, 3}), nullptr, "mean", nullptr);
  ASSERT_FALSE(range.ok());
  EXPECT_TRUE(Contains(range.status().message(), "loss_node")) << range.status().ToString();
  EXPECT_TRUE(Contains(range.status().message(), "out of range"));
  auto shape = RunLoss("SoftmaxCrossEntropyLoss", x, Int64s({3}, {0, 1, 2}), nullptr, "mean", nullptr);
  ASSERT_FALSE(shape.ok());
  EXPECT_TRUE(Contains(shape.status().message(), "labels have shape [3]"));
  auto reduction = RunLoss("SoftmaxCrossEntropyLoss", x, Int64s({2}, {0, 1}), nullptr, "max", nullptr);
  ASSERT_FALSE(reduction.ok());
  EXPECT_TRUE(Contains(reduction.status().message(), "reduction"));
  const Tensor w = Floats({2}, {1, 1});
  auto weight = RunLoss("NegativeLogLikelihoodLoss", x, Int64s({2}, {0, 1}), &w, "sum", nullptr);
  ASSERT_FALSE(weight.ok());
  EXPECT_TRUE(Contains(weight.status().message(), "weight"));
}

}  // namespace
}  // namespace pq::testing
