// Tests of src/exec/kernels/trilu.cc (beyond ONNX's conformance cases):
// batched matrices of a non-float dtype, extreme k, and inputs that must be
// refused with a Status naming the node.
#include <gtest/gtest.h>

#include <limits>
#include <numeric>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// An int32 tensor holding 1, 2, 3, ... in row-major order.
Tensor Iota1(const std::vector<int64_t>& shape) {
  Tensor t = Tensor::Allocate(kInt32, shape).value();
  std::iota(t.data<int32_t>(), t.data<int32_t>() + t.size(), 1);
  return t;
}

// Runs Trilu on `x` with `k` (omitted when empty) and `upper`.
Result<std::vector<Tensor>> RunTrilu(const Tensor& x, const std::vector<int64_t>& k,
                                     int64_t upper) {
  OneNodeCase c;
  c.node = MakeNode("Trilu", k.empty() ? std::vector<std::string>{"x"}
                                       : std::vector<std::string>{"x", "k"}, {"y"});
  c.node.set_name("tri");
  SetAttr(&c.node, "upper", upper);
  c.inputs = {{"x", x}};
  if (!k.empty()) c.constants = {{"k", Int64s({}, k)}};
  c.opset = 14;
  return RunOneNode(c);
}

TEST(Trilu, UpperWithPositiveKOnBatchedInt32) {
  auto out = RunTrilu(Iota1({2, 2, 3}), {1}, 1);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(Values(out.value()[0]),
            (std::vector<double>{0, 2, 3, 0, 0, 6, 0, 8, 9, 0, 0, 12}));
}

TEST(Trilu, LowerWithDefaultAndNegativeK) {
  auto lower = RunTrilu(Iota1({3, 2}), {}, 0);
  ASSERT_TRUE(lower.ok()) << lower.status().ToString();
  EXPECT_EQ(Values(lower.value()[0]), (std::vector<double>{1, 0, 3, 4, 5, 6}));
  auto below = RunTrilu(Iota1({3, 2}), {-1}, 0);
  ASSERT_TRUE(below.ok()) << below.status().ToString();
  EXPECT_EQ(Values(below.value()[0]), (std::vector<double>{0, 0, 3, 0, 5, 6}));
}

TEST(Trilu, ExtremeKKeepsAllOrNothingWithoutOverflow) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int64_t small = std::numeric_limits<int64_t>::min();
  auto none = RunTrilu(Iota1({2, 2}), {big}, 1);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(Values(none.value()[0]), (std::vector<double>{0, 0, 0, 0}));
  auto all = RunTrilu(Iota1({2, 2}), {small}, 1);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Values(all.value()[0]), (std::vector<double>{1, 2, 3, 4}));
  auto lower_all = RunTrilu(Iota1({2, 2}), {big}, 0);
  ASSERT_TRUE(lower_all.ok());
  EXPECT_EQ(Values(lower_all.value()[0]), (std::vector<double>{1, 2, 3, 4}));
}

TEST(Trilu, RankOneAndBadKAndBadUpperAreRefusedNamingTheNode) {
  auto rank1 = RunTrilu(Iota1({4}), {}, 1);
  ASSERT_FALSE(rank1.ok());
  EXPECT_TRUE(Contains(rank1.status().message(), "'tri'")) << rank1.status().ToString();
  EXPECT_TRUE(Contains(rank1.status().message(), "rank >= 2")) << rank1.status().ToString();

  OneNodeCase c;
  c.node = MakeNode("Trilu", {"x", "k"}, {"y"});
  c.node.set_name("tri");
  c.inputs = {{"x", Iota1({2, 2})}};
  c.constants = {{"k", Int64s({2}, {0, 1})}};
  c.opset = 14;
  auto two_k = RunOneNode(c);
  ASSERT_FALSE(two_k.ok());
  EXPECT_TRUE(Contains(two_k.status().message(), "k must hold one value"))
      << two_k.status().ToString();

  auto bad_upper = RunTrilu(Iota1({2, 2}), {}, 2);
  ASSERT_FALSE(bad_upper.ok());
  EXPECT_TRUE(Contains(bad_upper.status().message(), "upper")) << bad_upper.status().ToString();
}

}  // namespace
}  // namespace pq::testing
