// Tests of src/exec/kernels/reduction.cc (beyond ONNX's conformance cases):
// axes as attribute vs input by opset, noop_with_empty_axes, empty
// reductions, integer exactness, NaN, and results independent of threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "exec/kernel_test_util.h"
#include "pq/model.h"

namespace pq {
namespace {

using testing::Floats;
using testing::Int64s;
using testing::MakeNode;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

// A [2, 3] input: rows {1, 2, 3} and {4, 5, 6}.
Tensor TwoByThree() { return Floats({2, 3}, {1, 2, 3, 4, 5, 6}); }

OneNodeCase WithAxesAttr(const std::string& op, Tensor x, std::vector<int64_t> axes,
                         int64_t opset) {
  OneNodeCase c;
  c.node = MakeNode(op, {"x"}, {"y"});
  if (!axes.empty()) SetAttr(&c.node, "axes", axes);
  c.inputs = {{"x", std::move(x)}};
  c.opset = opset;
  return c;
}

OneNodeCase WithAxesInput(const std::string& op, Tensor x, std::vector<int64_t> axes,
                          int64_t opset) {
  OneNodeCase c;
  c.node = MakeNode(op, {"x", "axes"}, {"y"});
  c.inputs = {{"x", std::move(x)}};
  c.constants = {{"axes", Int64s({static_cast<int64_t>(axes.size())}, axes)}};
  c.opset = opset;
  return c;
}

TEST(ReductionTest, ReduceSumTakesAxesAsAttributeBeforeOpset13) {
  auto out = RunOneNode(WithAxesAttr("ReduceSum", TwoByThree(), {1}, 11));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{6, 15}));
}

TEST(ReductionTest, ReduceSumTakesAxesAsInputFromOpset13) {
  OneNodeCase c = WithAxesInput("ReduceSum", TwoByThree(), {0}, 13);
  SetAttr(&c.node, "keepdims", int64_t{0});
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{5, 7, 9}));
}

TEST(ReductionTest, ReduceMeanTakesAxesAsAttributeUntilOpset18) {
  auto attr = RunOneNode(WithAxesAttr("ReduceMean", TwoByThree(), {1}, 17));
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(Values(attr.value()[0]), (std::vector<double>{2, 5}));
  auto input = RunOneNode(WithAxesInput("ReduceMean", TwoByThree(), {0}, 18));
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  EXPECT_EQ(Values(input.value()[0]), (std::vector<double>{2.5, 3.5, 4.5}));
}

TEST(ReductionTest, EmptyAxesReduceAllUnlessNoop) {
  OneNodeCase all;
  all.node = MakeNode("ReduceSum", {"x"}, {"y"});
  all.inputs = {{"x", TwoByThree()}};
  all.opset = 13;
  auto reduced = RunOneNode(all);
  ASSERT_TRUE(reduced.ok()) << reduced.status().ToString();
  EXPECT_EQ(reduced.value()[0].shape(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(Values(reduced.value()[0]), (std::vector<double>{21}));
  OneNodeCase noop = all;
  SetAttr(&noop.node, "noop_with_empty_axes", int64_t{1});
  auto same = RunOneNode(noop);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same.value()[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values(same.value()[0]), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(ReductionTest, OutOfRangeAxisIsAnError) {
  auto out = RunOneNode(WithAxesAttr("ReduceMax", TwoByThree(), {2}, 13));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(out.status().message().find("axis 2"), std::string::npos) << out.status().message();
}

TEST(ReductionTest, EmptyReductionsGiveTheirIdentity) {
  const Tensor empty = Floats({2, 0}, {});
  auto sum = RunOneNode(WithAxesAttr("ReduceSum", empty, {1}, 11));
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(Values(sum.value()[0]), (std::vector<double>{0, 0}));
  auto max = RunOneNode(WithAxesAttr("ReduceMax", empty, {1}, 13));
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(max.value()[0].data<float>()[0], -std::numeric_limits<float>::infinity());
}

TEST(ReductionTest, Int64SumIsExactBeyondFloatPrecision) {
  const int64_t big = (int64_t{1} << 53) + 1;
  auto out = RunOneNode(WithAxesInput("ReduceSum", Int64s({3}, {big, 1, 1}), {0}, 13));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out.value()[0].dtype(), kInt64);
  EXPECT_EQ(out.value()[0].data<int64_t>()[0], big + 2);
}

TEST(ReductionTest, NanPropagatesThroughMaxAndSum) {
  auto max = RunOneNode(WithAxesAttr("ReduceMax", Floats({3}, {1, kNan, 3}), {0}, 13));
  ASSERT_TRUE(max.ok());
  EXPECT_TRUE(std::isnan(max.value()[0].data<float>()[0]));
  auto sum = RunOneNode(WithAxesAttr("ReduceSum", Floats({3}, {1, kNan, 3}), {0}, 11));
  ASSERT_TRUE(sum.ok());
  EXPECT_TRUE(std::isnan(sum.value()[0].data<float>()[0]));
}

TEST(ReductionTest, ArgMaxSelectsFirstOrLastTie) {
  OneNodeCase c;
  c.node = MakeNode("ArgMax", {"x"}, {"y"});
  c.inputs = {{"x", Floats({4}, {1, 7, 7, 2})}};
  c.opset = 13;
  auto first = RunOneNode(c);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first.value()[0].dtype(), kInt64);
  EXPECT_EQ(Values(first.value()[0]), (std::vector<double>{1}));
  SetAttr(&c.node, "select_last_index", int64_t{1});
  auto last = RunOneNode(c);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(Values(last.value()[0]), (std::vector<double>{2}));
}

// Runs one node at opset 13 with `threads` intra-op threads; returns output 0.
Tensor RunWithThreads(const onnx::NodeProto& node, const Tensor& x, int threads) {
  OneNodeCase c;
  c.node = node;
  c.inputs[node.input(0)] = x;
  c.opset = 13;
  c.threads = threads;
  auto out = RunOneNode(c);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.value()[0];
}

TEST(ReductionTest, ResultsAreBitwiseIdenticalForEveryThreadCount) {
  constexpr int64_t kRows = 64, kCols = 4099;  // odd width: no even split
  Tensor x = Floats({kRows, kCols}, {});
  for (int64_t i = 0; i < x.size(); ++i) {
    x.data<float>()[i] = std::sin(static_cast<float>(i)) * 1000.0f;  // cancellation-prone
  }
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceLogSumExp"}) {
    for (int64_t axis : {0, 1}) {
      onnx::NodeProto node = MakeNode(op, {"x"}, {"y"});
      SetAttr(&node, "axes", std::vector<int64_t>{axis});
      const Tensor one = RunWithThreads(node, x, 1);
      for (int threads : {2, 3}) {
        const Tensor many = RunWithThreads(node, x, threads);
        ASSERT_EQ(one.size(), many.size());
        EXPECT_EQ(std::memcmp(one.raw(), many.raw(), static_cast<size_t>(one.byte_size())), 0)
            << op << " axis " << axis << " threads " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace pq
