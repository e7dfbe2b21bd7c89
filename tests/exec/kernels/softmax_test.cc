// Tests of src/exec/kernels/softmax.cc (beyond ONNX's conformance cases):
// the opset 11 2-D coercion vs opset 13's single axis, numerical stability,
// NaN confinement and axis errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

using testing::Floats;
using testing::MakeNode;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;

constexpr float kTolerance = 1e-6f;

OneNodeCase Case(const std::string& op, Tensor x, int64_t opset) {
  OneNodeCase c;
  c.node = MakeNode(op, {"x"}, {"y"});
  c.inputs = {{"x", std::move(x)}};
  c.opset = opset;
  return c;
}

// A [1, 2, 2] input whose two halves along axis 1 are {0, 0} and {ln 3, ln 3}.
Tensor Cube() {
  const float l3 = std::log(3.0f);
  return Floats({1, 2, 2}, {0, 0, l3, l3});
}

TEST(SoftmaxTest, Opset11CoercesToTwoDimsAtAxis) {
  // axis=1 flattens dims 1..2: one row of four values, e^0,e^0,3,3 over 8.
  OneNodeCase c = Case("Softmax", Cube(), 11);
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = out.value()[0].data<float>();
  EXPECT_NEAR(y[0], 0.125f, kTolerance);
  EXPECT_NEAR(y[2], 0.375f, kTolerance);
}

TEST(SoftmaxTest, Opset13NormalisesOnlyAlongAxis) {
  // axis=1 alone: each column {e^0, 3} over 4.
  OneNodeCase c = Case("Softmax", Cube(), 13);
  SetAttr(&c.node, "axis", int64_t{1});
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = out.value()[0].data<float>();
  EXPECT_NEAR(y[0], 0.25f, kTolerance);
  EXPECT_NEAR(y[1], 0.25f, kTolerance);
  EXPECT_NEAR(y[2], 0.75f, kTolerance);
}

TEST(SoftmaxTest, Opset13DefaultsToTheLastAxis) {
  auto out = RunOneNode(Case("Softmax", Floats({2, 2}, {0, 0, 0, std::log(3.0f)}), 13));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = out.value()[0].data<float>();
  EXPECT_NEAR(y[0], 0.5f, kTolerance);
  EXPECT_NEAR(y[2], 0.25f, kTolerance);
  EXPECT_NEAR(y[3], 0.75f, kTolerance);
}

TEST(SoftmaxTest, LargeInputsDoNotOverflow) {
  auto soft = RunOneNode(Case("Softmax", Floats({2}, {1000, 1000}), 13));
  ASSERT_TRUE(soft.ok()) << soft.status().ToString();
  EXPECT_NEAR(soft.value()[0].data<float>()[0], 0.5f, kTolerance);
  auto log = RunOneNode(Case("LogSoftmax", Floats({2}, {1000, 1000}), 13));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_NEAR(log.value()[0].data<float>()[1], -std::log(2.0f), kTolerance);
}

TEST(SoftmaxTest, NanStaysInsideItsSlice) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto out = RunOneNode(Case("Softmax", Floats({2, 2}, {nan, 1, 1, 1}), 13));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = out.value()[0].data<float>();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_NEAR(y[2], 0.5f, kTolerance);
}

// Attention masks add -inf: masked entries get 0, and a row that is -inf
// everywhere (a left-padding query) is NaN, as onnxruntime 1.30 gives it.
TEST(SoftmaxTest, MinusInfinityIsMaskedAndAnAllMaskedRowIsNan) {
  const float inf = std::numeric_limits<float>::infinity();
  auto out = RunOneNode(Case("Softmax", Floats({2, 3}, {-inf, 0, -inf, -inf, -inf, -inf}), 13));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const float* y = out.value()[0].data<float>();
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_EQ(y[2], 0.0f);
  for (int i = 3; i < 6; ++i) EXPECT_TRUE(std::isnan(y[i])) << i;
}

TEST(SoftmaxTest, OutOfRangeAxisIsAnError) {
  OneNodeCase c = Case("LogSoftmax", Floats({2, 2}, {}), 13);
  SetAttr(&c.node, "axis", int64_t{2});
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(out.status().message().find("axis 2"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace pq
