// Tests of src/exec/kernels/cumsum.cc (beyond ONNX's conformance cases):
// exclusive + reverse on a middle axis of int64 data, int32 wrap-around,
// and inputs that must be refused with a Status naming the node.
#include <gtest/gtest.h>

#include <limits>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs CumSum on `x` along the constant `axis` tensor.
Result<std::vector<Tensor>> RunCumSum(const Tensor& x, const Tensor& axis, int64_t exclusive,
                                      int64_t reverse) {
  OneNodeCase c;
  c.node = MakeNode("CumSum", {"x", "axis"}, {"y"});
  c.node.set_name("cs");
  SetAttr(&c.node, "exclusive", exclusive);
  SetAttr(&c.node, "reverse", reverse);
  c.inputs = {{"x", x}};
  c.constants = {{"axis", axis}};
  c.opset = 14;
  return RunOneNode(c);
}

TEST(CumSum, ExclusiveReverseAlongTheMiddleAxisOfInt64) {
  // x[2, 3, 2] = 1..12; sums along axis 1 (negative: -2) from the end,
  // excluding the element itself.
  std::vector<int64_t> v(12);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i) + 1;
  auto out = RunCumSum(Int64s({2, 3, 2}, v), Int64s({}, {-2}), 1, 1);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]),
            (std::vector<double>{8, 10, 5, 6, 0, 0, 20, 22, 11, 12, 0, 0}));
}

TEST(CumSum, InclusiveFloatWithInt32Axis) {
  auto out = RunCumSum(Floats({2, 2}, {1, 2, 3, 4}), MakeTensor<int32_t>(kInt32, {1}, {1}), 0, 0);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{1, 3, 3, 7}));
}

TEST(CumSum, Int32SumsWrapAroundInsteadOfOverflowing) {
  const int32_t max = std::numeric_limits<int32_t>::max();
  auto out = RunCumSum(MakeTensor<int32_t>(kInt32, {2}, {max, 1}), Int64s({}, {0}), 0, 0);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].data<int32_t>()[1], std::numeric_limits<int32_t>::min());
}

TEST(CumSum, BadAxisAndAttributesAreRefusedNamingTheNode) {
  auto axis = RunCumSum(Floats({2, 2}, {1, 2, 3, 4}), Int64s({}, {2}), 0, 0);
  ASSERT_FALSE(axis.ok());
  EXPECT_TRUE(Contains(axis.status().message(), "'cs'")) << axis.status().ToString();
  EXPECT_TRUE(Contains(axis.status().message(), "axis 2 is out of range"))
      << axis.status().ToString();
  auto two = RunCumSum(Floats({2, 2}, {1, 2, 3, 4}), Int64s({2}, {0, 1}), 0, 0);
  ASSERT_FALSE(two.ok());
  EXPECT_TRUE(Contains(two.status().message(), "axis must hold one value"));
  auto attr = RunCumSum(Floats({2}, {1, 2}), Int64s({}, {0}), 3, 0);
  ASSERT_FALSE(attr.ok());
  EXPECT_TRUE(Contains(attr.status().message(), "exclusive and reverse"));
}

}  // namespace
}  // namespace pq::testing
