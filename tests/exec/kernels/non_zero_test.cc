// Tests of src/exec/kernels/non_zero.cc (beyond ONNX's conformance case):
// float zeros of both signs and NaN, bool, no non-zero element at all, and
// a type the kernel refuses as unsupported.
#include <gtest/gtest.h>

#include <cmath>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

Result<std::vector<Tensor>> RunNonZero(const Tensor& x) {
  OneNodeCase c;
  c.node = MakeNode("NonZero", {"x"}, {"y"});
  c.node.set_name("nz");
  c.inputs = {{"x", x}};
  c.opset = 13;
  return RunOneNode(c);
}

TEST(NonZero, FloatNegativeZeroIsZeroAndNanIsNot) {
  auto out = RunNonZero(Floats({2, 3}, {0.f, -0.f, 2.f, std::nanf(""), 0.f, -1.f}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].dtype(), kInt64);
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 1, 1, 2, 0, 2}));
}

TEST(NonZero, BoolAndAllZeroGiveRankByCount) {
  auto b = RunNonZero(MakeTensor<int>(kBool, {2, 2, 1}, {0, 1, 1, 0}));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b.value()[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values(b.value()[0]), (std::vector<double>{0, 1, 1, 0, 0, 0}));
  auto none = RunNonZero(Int64s({4}, {0, 0, 0, 0}));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none.value()[0].shape(), (std::vector<int64_t>{1, 0}));
}

TEST(NonZero, ScalarIsReadAsOneElementVector) {
  auto out = RunNonZero(Int64s({}, {7}));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0}));
}

TEST(NonZero, MissingInputIsRefusedNamingTheNode) {
  OneNodeCase c;
  c.node = MakeNode("NonZero", {""}, {"y"});
  c.node.set_name("nz");
  c.opset = 13;
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("'nz'"), std::string::npos) << out.status().ToString();
}

}  // namespace
}  // namespace pq::testing
