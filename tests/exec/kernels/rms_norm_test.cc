// Tests of src/exec/kernels/rms_norm.cc: SimplifiedLayerNormalization (both
// domains) and com.microsoft SkipSimplifiedLayerNormalization against a
// naive double reference, their default epsilons (onnxruntime's: 1e-5 and
// 1e-12), the optional outputs, skip broadcasting and refused inputs.
#include <gtest/gtest.h>

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

// |pq - reference| for outputs of magnitude ~1 (float against double).
constexpr double kTolerance = 1e-5;

// Deterministic data whose rows have different scales.
Tensor Wave(std::vector<int64_t> shape, float step, float phase) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) {
    t.data<float>()[i] = std::sin(step * static_cast<float>(i) + phase) * (1.0f + 0.1f * i);
  }
  return t;
}

// Naive RMS normalization of rows of `inner` values: y and 1 / rms per row.
void Reference(const std::vector<double>& x, int64_t inner, const std::vector<double>& scale,
               double epsilon, std::vector<double>* y, std::vector<double>* inv) {
  y->assign(x.size(), 0.0);
  inv->clear();
  for (size_t r = 0; r * inner < x.size(); ++r) {
    double sq = 0;
    for (int64_t i = 0; i < inner; ++i) sq += x[r * inner + i] * x[r * inner + i];
    const double v = 1.0 / std::sqrt(sq / static_cast<double>(inner) + epsilon);
    inv->push_back(v);
    for (int64_t i = 0; i < inner; ++i) (*y)[r * inner + i] = x[r * inner + i] * v * scale[i];
  }
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], kTolerance) << "element " << i;
}

void ExpectError(const OneNodeCase& c, const std::string& fragment) {
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find(c.node.name()), std::string::npos)
      << out.status().ToString();
  EXPECT_NE(out.status().message().find(fragment), std::string::npos) << out.status().ToString();
}

OneNodeCase Simplified(Tensor x, Tensor scale, const std::string& domain) {
  OneNodeCase c;
  c.node = MakeNode("SimplifiedLayerNormalization", {"x", "scale"}, {"y", "inv"}, domain);
  c.inputs = {{"x", std::move(x)}};
  c.constants = {{"scale", std::move(scale)}};
  return c;
}

TEST(RmsNormTest, SimplifiedLastAxisMatchesReferenceInBothDomains) {
  const Tensor x = Wave({2, 3, 8}, 0.37f, 0.1f);
  const Tensor scale = Wave({8}, 0.9f, 1.0f);
  for (const std::string domain : {"", "com.microsoft"}) {
    OneNodeCase c = Simplified(x, scale, domain);
    SetAttr(&c.node, "epsilon", 1e-3f);
    auto out = RunOneNode(c);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    std::vector<double> y, inv;
    Reference(Values(x), 8, Values(scale), 1e-3, &y, &inv);
    ExpectNear(Values((*out)[0]), y);
    EXPECT_EQ((*out)[1].shape(), (std::vector<int64_t>{2, 3, 1}));
    ExpectNear(Values((*out)[1]), inv);
  }
}

TEST(RmsNormTest, SimplifiedNormalizesEveryAxisFromAxis) {
  const Tensor x = Wave({2, 3, 4}, 0.21f, 0.4f);
  const Tensor scale = Wave({3, 4}, 0.5f, 0.2f);
  OneNodeCase c = Simplified(x, scale, "");
  SetAttr(&c.node, "axis", int64_t{1});
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> y, inv;
  Reference(Values(x), 12, Values(scale), 1e-5, &y, &inv);
  ExpectNear(Values((*out)[0]), y);
  EXPECT_EQ((*out)[1].shape(), (std::vector<int64_t>{2, 1, 1}));
}

TEST(RmsNormTest, SimplifiedDefaultEpsilonIsOneEMinusFive) {
  // mean(x^2) = 1e-6, so 1e-3 / sqrt(1e-6 + 1e-5) = 0.301511...
  auto out = RunOneNode(
      Simplified(Floats({1, 4}, {1e-3f, 1e-3f, 1e-3f, 1e-3f}), Floats({4}, {1, 1, 1, 1}), ""));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NEAR(Values((*out)[0])[0], 1e-3 / std::sqrt(1.1e-5), kTolerance);
}

TEST(RmsNormTest, SimplifiedRefusesBadAxisScaleAndMissingInput) {
  OneNodeCase axis = Simplified(Wave({2, 4}, 0.3f, 0.0f), Floats({4}, {1, 1, 1, 1}), "");
  SetAttr(&axis.node, "axis", int64_t{2});
  ExpectError(axis, "axis 2 is out of range");
  ExpectError(Simplified(Wave({2, 4}, 0.3f, 0.0f), Floats({3}, {1, 1, 1}), ""), "scale");
  OneNodeCase missing = Simplified(Wave({2, 4}, 0.3f, 0.0f), Floats({4}, {1, 1, 1, 1}), "");
  missing.node = MakeNode("SimplifiedLayerNormalization", {"x"}, {"y"});
  ExpectError(missing, "required input 'scale' is missing");
  OneNodeCase extra = Simplified(Wave({2, 4}, 0.3f, 0.0f), Floats({4}, {1, 1, 1, 1}), "");
  extra.node.add_output("third");
  ExpectError(extra, "lists 3 outputs, the op has at most 2");
}

OneNodeCase Skip(Tensor input, Tensor skip, Tensor gamma, const Tensor* bias) {
  OneNodeCase c;
  std::vector<std::string> ins = {"x", "skip", "gamma"};
  if (bias != nullptr) ins.push_back("bias");
  c.node = MakeNode("SkipSimplifiedLayerNormalization", ins, {"y", "mean", "inv", "sum"},
                    "com.microsoft");
  c.inputs = {{"x", std::move(input)}};
  c.constants = {{"skip", std::move(skip)}, {"gamma", std::move(gamma)}};
  if (bias != nullptr) c.constants["bias"] = *bias;
  return c;
}

TEST(RmsNormTest, SkipProducesTheSumAndNormalizesIt) {
  const Tensor x = Wave({2, 3, 8}, 0.37f, 0.1f);
  const Tensor skip = Wave({2, 3, 8}, 0.11f, 2.0f);
  const Tensor gamma = Wave({8}, 0.9f, 1.0f);
  const Tensor bias = Wave({8}, 1.3f, 0.5f);
  OneNodeCase c = Skip(x, skip, gamma, &bias);
  SetAttr(&c.node, "epsilon", 1e-4f);
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> sum = Values(x);
  const std::vector<double> s = Values(skip), b = Values(bias);
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += s[i] + b[i % 8];
  std::vector<double> y, inv;
  Reference(sum, 8, Values(gamma), 1e-4, &y, &inv);
  ExpectNear(Values((*out)[0]), y);
  ExpectNear(Values((*out)[1]), std::vector<double>(6, 0.0));  // mean: unused, zeros
  ExpectNear(Values((*out)[2]), inv);
  ExpectNear(Values((*out)[3]), sum);
  EXPECT_EQ((*out)[3].shape(), x.shape());
}

TEST(RmsNormTest, SkipBroadcastsTrailingDimsAndDefaultsToTinyEpsilon) {
  const Tensor x = Wave({2, 3, 4}, 0.37f, 0.1f);
  const Tensor skip = Wave({1, 3, 4}, 0.7f, 0.3f);
  OneNodeCase c = Skip(x, skip, Floats({4}, {1, 2, 3, 4}), nullptr);
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> sum = Values(x);
  const std::vector<double> s = Values(skip);
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += s[i % 12];
  std::vector<double> y, inv;
  Reference(sum, 4, {1, 2, 3, 4}, 1e-12, &y, &inv);
  ExpectNear(Values((*out)[0]), y);
  ExpectNear(Values((*out)[3]), sum);
  // A [S, H] skip broadcasts the same way.
  auto two_d = RunOneNode(Skip(x, skip.Reshaped({3, 4}), Floats({4}, {1, 2, 3, 4}), nullptr));
  ASSERT_TRUE(two_d.ok()) << two_d.status().ToString();
  ExpectNear(Values((*two_d)[0]), y);
}

TEST(RmsNormTest, SkipRefusesBadShapes) {
  const Tensor gamma = Floats({4}, {1, 1, 1, 1});
  ExpectError(Skip(Wave({1, 2, 3, 4}, 0.1f, 0.0f), Wave({1, 2, 3, 4}, 0.2f, 0.0f), gamma, nullptr),
              "expected [batch, sequence, hidden]");
  ExpectError(Skip(Wave({2, 3, 4}, 0.1f, 0.0f), Wave({2, 2, 4}, 0.2f, 0.0f), gamma, nullptr),
              "skip has shape [2, 2, 4]");
  ExpectError(Skip(Wave({2, 3, 4}, 0.1f, 0.0f), Wave({2, 3, 4}, 0.2f, 0.0f), Floats({3}, {1, 1, 1}),
                   nullptr),
              "gamma");
  const Tensor bias = Floats({2}, {1, 1});
  ExpectError(Skip(Wave({2, 3, 4}, 0.1f, 0.0f), Wave({2, 3, 4}, 0.2f, 0.0f), gamma, &bias), "bias");
}

}  // namespace
}  // namespace pq
