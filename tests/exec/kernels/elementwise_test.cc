// Tests of the elementwise kernels, src/exec/kernels/{elementwise,unary,cast}.cc,
// beyond ONNX's conformance cases: opset-dependent attributes, broadcasting
// errors, NaN, integer arithmetic, casts to float16 and ops newer than the
// conformance data (Gelu).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

using testing::Floats;
using testing::Int64s;
using testing::MakeNode;
using testing::MakeTensor;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kTolerance = 1e-6f;

OneNodeCase Binary(const std::string& op, Tensor a, Tensor b, int64_t opset = 17) {
  OneNodeCase c;
  c.node = MakeNode(op, {"a", "b"}, {"y"});
  c.inputs = {{"a", std::move(a)}, {"b", std::move(b)}};
  c.opset = opset;
  return c;
}

OneNodeCase Unary(const std::string& op, Tensor x, int64_t opset = 17) {
  OneNodeCase c;
  c.node = MakeNode(op, {"x"}, {"y"});
  c.inputs = {{"x", std::move(x)}};
  c.opset = opset;
  return c;
}

TEST(ElementwiseTest, AddBroadcastsColumnAgainstRow) {
  auto out = RunOneNode(Binary("Add", Floats({2, 1}, {10, 20}), Floats({3}, {1, 2, 3})));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{11, 12, 13, 21, 22, 23}));
}

TEST(ElementwiseTest, IncompatibleBroadcastIsAnErrorNamingBothShapes) {
  auto out = RunOneNode(Binary("Mul", Floats({2, 3}, {}), Floats({4}, {})));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(out.status().message().find("[2, 3]"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("[4]"), std::string::npos) << out.status().message();
}

TEST(ElementwiseTest, VariadicMaxWithIncompatibleShapesIsAnError) {
  OneNodeCase c;
  c.node = MakeNode("Max", {"a", "b", "c"}, {"y"});
  c.inputs = {{"a", Floats({3}, {})}, {"b", Floats({1}, {})}, {"c", Floats({2}, {})}};
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
}

TEST(ElementwiseTest, Int64ArithmeticIsExactBeyondFloatPrecision) {
  const int64_t big = (int64_t{1} << 53) + 1;  // not representable in double
  auto sum = RunOneNode(Binary("Add", Int64s({1}, {big}), Int64s({1}, {2})));
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  ASSERT_EQ(sum.value()[0].dtype(), kInt64);
  EXPECT_EQ(sum.value()[0].data<int64_t>()[0], big + 2);
}

TEST(ElementwiseTest, IntegerDivisionTruncatesAndNeverTraps) {
  const int64_t min = std::numeric_limits<int64_t>::min();
  auto out = RunOneNode(Binary("Div", Int64s({4}, {7, -7, min, 5}), Int64s({4}, {2, 2, -1, 0})));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const int64_t* y = out.value()[0].data<int64_t>();
  EXPECT_EQ(y[0], 3);
  EXPECT_EQ(y[1], -3);    // toward zero, not floor
  EXPECT_EQ(y[2], min);   // wraps instead of trapping
  EXPECT_EQ(y[3], 0);     // x / 0 defined as 0
}

TEST(ElementwiseTest, IntegerModTakesTheDivisorsSignUnlessFmod) {
  auto floored = RunOneNode(Binary("Mod", Int64s({2}, {-7, 7}), Int64s({2}, {3, -3})));
  ASSERT_TRUE(floored.ok()) << floored.status().ToString();
  EXPECT_EQ(Values(floored.value()[0]), (std::vector<double>{2, -2}));
  OneNodeCase c = Binary("Mod", Int64s({2}, {-7, 7}), Int64s({2}, {3, -3}));
  SetAttr(&c.node, "fmod", int64_t{1});
  auto truncated = RunOneNode(c);
  ASSERT_TRUE(truncated.ok()) << truncated.status().ToString();
  EXPECT_EQ(Values(truncated.value()[0]), (std::vector<double>{-1, 1}));
}

TEST(ElementwiseTest, NanFlowsThroughArithmeticMaxAndRelu) {
  auto add = RunOneNode(Binary("Add", Floats({2}, {kNan, 1}), Floats({2}, {1, 1})));
  ASSERT_TRUE(add.ok());
  EXPECT_TRUE(std::isnan(add.value()[0].data<float>()[0]));
  auto max = RunOneNode(Binary("Max", Floats({2}, {kNan, 1}), Floats({2}, {5, kNan})));
  ASSERT_TRUE(max.ok());
  EXPECT_TRUE(std::isnan(max.value()[0].data<float>()[0]));
  EXPECT_TRUE(std::isnan(max.value()[0].data<float>()[1]));
  auto relu = RunOneNode(Unary("Relu", Floats({2}, {kNan, -1})));
  ASSERT_TRUE(relu.ok());
  EXPECT_TRUE(std::isnan(relu.value()[0].data<float>()[0]));
  EXPECT_EQ(relu.value()[0].data<float>()[1], 0.0f);
}

TEST(ElementwiseTest, ClipReadsAttributesBeforeOpset11) {
  OneNodeCase c = Unary("Clip", Floats({3}, {-5, 0.5f, 5}), /*opset=*/10);
  SetAttr(&c.node, "min", -1.0f);
  SetAttr(&c.node, "max", 1.0f);
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{-1, 0.5, 1}));
}

TEST(ElementwiseTest, ClipReadsOptionalInputsFromOpset11) {
  OneNodeCase c;
  c.node = MakeNode("Clip", {"x", "", "hi"}, {"y"});  // min omitted
  c.inputs = {{"x", Int64s({3}, {-50, 3, 50})}};
  c.constants = {{"hi", Int64s({}, {10})}};
  c.opset = 13;
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{-50, 3, 10}));
}

TEST(ElementwiseTest, ComparisonsProduceBool) {
  auto out = RunOneNode(Binary("Less", Floats({3}, {1, 2, 3}), Floats({}, {2})));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].dtype(), kBool);
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{1, 0, 0}));
}

TEST(ElementwiseTest, WhereBroadcastsConditionAndBranches) {
  OneNodeCase c;
  c.node = MakeNode("Where", {"c", "x", "y"}, {"z"});
  c.inputs = {{"c", MakeTensor<int>(kBool, {2, 1}, {1, 0})},
              {"x", Floats({3}, {1, 2, 3})},
              {"y", Floats({}, {-1})}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{1, 2, 3, -1, -1, -1}));
}

TEST(ElementwiseTest, CastToFloat16RoundsToNearestEvenHalfAndStaysFloat) {
  OneNodeCase c = Unary("Cast", Floats({5}, {1.0009765625f, 1.00048828125f, 65520.0f, 1e-8f,
                                             3e-8f}));
  SetAttr(&c.node, "to", int64_t{10});  // FLOAT16
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& y = out.value()[0];
  ASSERT_EQ(y.dtype(), kFloat);
  EXPECT_EQ(y.data<float>()[0], 1.0009765625f);  // exactly a half value
  EXPECT_EQ(y.data<float>()[1], 1.0f);           // a tie rounds to even
  EXPECT_TRUE(std::isinf(y.data<float>()[2]));   // beyond half's range
  EXPECT_EQ(y.data<float>()[3], 0.0f);           // below half the smallest subnormal
  EXPECT_EQ(y.data<float>()[4], std::ldexp(1.0f, -24));  // the smallest subnormal
}

TEST(ElementwiseTest, CastFloatToIntTruncatesAndSaturates) {
  OneNodeCase c = Unary("Cast", Floats({4}, {2.7f, -2.7f, 1000.0f, kNan}));
  SetAttr(&c.node, "to", int64_t{3});  // INT8
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].dtype(), kInt8);
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{2, -2, 127, 0}));
}

TEST(ElementwiseTest, GeluExactAndTanhApproximation) {
  OneNodeCase exact = Unary("Gelu", Floats({2}, {1, -1}), /*opset=*/20);
  auto a = RunOneNode(exact);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_NEAR(a.value()[0].data<float>()[0], 0.8413447f, kTolerance);
  EXPECT_NEAR(a.value()[0].data<float>()[1], -0.1586553f, kTolerance);
  OneNodeCase tanh = exact;
  SetAttr(&tanh.node, "approximate", std::string("tanh"));
  auto b = RunOneNode(tanh);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NEAR(b.value()[0].data<float>()[0], 0.8411920f, kTolerance);
  OneNodeCase bad = exact;
  SetAttr(&bad.node, "approximate", std::string("sigmoid"));
  auto c = RunOneNode(bad);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kNotSupported);
}

TEST(ElementwiseTest, DropoutAtInferencePassesInputAndAllTrueMask) {
  OneNodeCase c;
  c.node = MakeNode("Dropout", {"x"}, {"y", "mask"});
  c.inputs = {{"x", Floats({3}, {1, 2, 3})}};
  c.opset = 13;
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(out.value()[1].dtype(), kBool);
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{1, 1, 1}));
}

TEST(ElementwiseTest, RandomTrainingDropoutIsNotSupported) {
  OneNodeCase c;
  c.node = MakeNode("Dropout", {"x", "ratio", "training"}, {"y"});
  c.inputs = {{"x", Floats({3}, {1, 2, 3})}};
  c.constants = {{"ratio", Floats({}, {0.5f})}, {"training", MakeTensor<int>(kBool, {}, {1})}};
  c.opset = 13;
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kNotSupported);
}

// int16, uint16, uint32 and uint64 (issue 15): the integer elementwise
// kernels compute with them in their own type.
TEST(ElementwiseKernelTest, WideIntegerTypesInMaxModBitShiftAndPow) {
  OneNodeCase c;
  c.node = MakeNode("Mod", {"A", "B"}, {"Y"});
  c.inputs = {{"A", MakeTensor<int>(kInt16, {4}, {-7, 7, -7, 300})},
              {"B", MakeTensor<int>(kInt16, {4}, {3, -3, -3, 7})}};
  auto mod = RunOneNode(c);
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  EXPECT_EQ(mod.value()[0].dtype(), kInt16);
  EXPECT_EQ(Values(mod.value()[0]), (std::vector<double>{2, -2, -1, 6}));

  c.node = MakeNode("Max", {"A", "B"}, {"Y"});
  c.inputs = {{"A", MakeTensor<double>(kUint64, {2}, {1e19, 5})},
              {"B", MakeTensor<double>(kUint64, {2}, {3, 6})}};
  auto max = RunOneNode(c);
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(max.value()[0].data<uint64_t>()[0], 10000000000000000000ull);
  EXPECT_EQ(max.value()[0].data<uint64_t>()[1], 6u);

  c.node = MakeNode("BitShift", {"A", "B"}, {"Y"});
  SetAttr(&c.node, "direction", std::string("LEFT"));
  c.inputs = {{"A", MakeTensor<int>(kUint16, {3}, {1, 0x8001, 5})},
              {"B", MakeTensor<int>(kUint16, {3}, {15, 1, 16})}};
  auto shift = RunOneNode(c);
  ASSERT_TRUE(shift.ok()) << shift.status().ToString();
  EXPECT_EQ(Values(shift.value()[0]), (std::vector<double>{32768, 2, 0}));

  c.node = MakeNode("Pow", {"A", "B"}, {"Y"});
  c.inputs = {{"A", Floats({2}, {2, 3})}, {"B", MakeTensor<int>(kUint32, {2}, {10, 3})}};
  auto pow = RunOneNode(c);
  ASSERT_TRUE(pow.ok()) << pow.status().ToString();
  EXPECT_EQ(Values(pow.value()[0]), (std::vector<double>{1024, 27}));

  // BitShift stays refused for signed types.
  c.node = MakeNode("BitShift", {"A", "B"}, {"Y"});
  c.node.set_name("shift");
  SetAttr(&c.node, "direction", std::string("RIGHT"));
  c.inputs = {{"A", MakeTensor<int>(kInt16, {1}, {4})}, {"B", MakeTensor<int>(kInt16, {1}, {1})}};
  auto refused = RunOneNode(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(refused.status().message().find("shift"), std::string::npos);
}

}  // namespace
}  // namespace pq

namespace pq::exec {
namespace {

// Erf and Tanh run vectorized: within a few ulp of libm, saturating at
// +-inf, NaN kept as NaN (Eigen's clamping alone would turn it into +-1).
TEST(ElementwiseTest, VectorizedErfAndTanhKeepIeeeValues) {
  const std::vector<float> x = {-2.5f, -0.3f, 0.0f, 0.7f, 3.9f, 5.0f,
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::quiet_NaN()};
  for (const char* op : {"Erf", "Tanh"}) {
    SCOPED_TRACE(op);
    testing::OneNodeCase c;
    c.node = testing::MakeNode(op, {"x"}, {"y"});
    c.inputs = {{"x", testing::Floats({static_cast<int64_t>(x.size())}, x)}};
    auto out = testing::RunOneNode(c);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const std::vector<double> y = testing::Values(out.value()[0]);
    for (size_t i = 0; i + 1 < x.size(); ++i) {
      const double expected = std::string(op) == "Erf" ? std::erf(x[i]) : std::tanh(x[i]);
      EXPECT_NEAR(y[i], expected, 1e-6) << "x = " << x[i];
    }
    EXPECT_TRUE(std::isnan(y.back()));
  }
}

}  // namespace
}  // namespace pq::exec
