// Tests of src/exec/kernels/selection.cc (beyond ONNX's conformance
// cases): OneHot, EyeLike, Compress, ReverseSequence and Unique on
// non-float data and unusual axes, and inputs that must be refused with a
// Status naming the node.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Tensor Int32s(std::vector<int64_t> shape, const std::vector<int32_t>& v) {
  return MakeTensor<int32_t>(kInt32, std::move(shape), v);
}

Result<std::vector<Tensor>> RunNode(onnx::NodeProto node, std::map<std::string, Tensor> inputs,
                                    int64_t opset = 13) {
  OneNodeCase c;
  c.node = std::move(node);
  c.node.set_name("sel");
  c.inputs = std::move(inputs);
  c.opset = opset;
  return RunOneNode(c);
}

TEST(OneHot, MiddleAxisWithNegativeAndOutOfRangeIndices) {
  auto node = MakeNode("OneHot", {"i", "d", "v"}, {"y"});
  SetAttr(&node, "axis", int64_t{0});
  auto out = RunNode(node, {{"i", Int64s({3}, {-1, 0, 7})}, {"d", Floats({}, {3})},
                            {"v", Int32s({2}, {5, 9})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].dtype(), kInt32);
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{3, 3}));
  // Column j is index j's one-hot: -1 -> 2, 0 -> 0, 7 -> none.
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{5, 9, 5, 5, 5, 5, 9, 5, 5}));
  auto bad = RunNode(node, {{"i", Int64s({3}, {0, 1, 2})}, {"d", Floats({}, {0})},
                            {"v", Int32s({2}, {0, 1})}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "sel") && Contains(bad.status().message(), "depth"));
}

TEST(EyeLike, ExtremeKAndRefusedRank) {
  auto node = MakeNode("EyeLike", {"x"}, {"y"});
  SetAttr(&node, "k", int64_t{-1});
  auto out = RunNode(node, {{"x", Int64s({3, 2}, {})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 0, 1, 0, 0, 1}));
  for (int64_t k : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    auto far = MakeNode("EyeLike", {"x"}, {"y"});
    SetAttr(&far, "k", k);
    auto zeros = RunNode(far, {{"x", Floats({2, 2}, {})}});
    ASSERT_TRUE(zeros.ok()) << zeros.status().ToString();
    EXPECT_EQ(Values(zeros.value()[0]), (std::vector<double>{0, 0, 0, 0}));
  }
  auto bad = RunNode(MakeNode("EyeLike", {"x"}, {"y"}), {{"x", Floats({2, 2, 2}, {})}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "2-D"));
}

TEST(Compress, SelectsSlicesAlongAxisAndRefusesLongCondition) {
  auto node = MakeNode("Compress", {"x", "c"}, {"y"});
  SetAttr(&node, "axis", int64_t{1});
  Tensor cond = MakeTensor<int>(kBool, {2}, {0, 1});
  auto out = RunNode(node, {{"x", Int64s({2, 3}, {1, 2, 3, 4, 5, 6})}, {"c", cond}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{2, 5}));
  Tensor long_cond = MakeTensor<int>(kBool, {4}, {1, 1, 1, 1});
  auto bad = RunNode(node, {{"x", Int64s({2, 3}, {1, 2, 3, 4, 5, 6})}, {"c", long_cond}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "more than"));
}

TEST(ReverseSequence, ReversesEachBatchPrefixAndRefusesLongSequences) {
  auto node = MakeNode("ReverseSequence", {"x", "l"}, {"y"});
  SetAttr(&node, "time_axis", int64_t{1});
  SetAttr(&node, "batch_axis", int64_t{0});
  auto out = RunNode(node, {{"x", Int64s({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})},
                            {"l", Int64s({2}, {2, 3})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]),
            (std::vector<double>{3, 4, 1, 2, 5, 6, 11, 12, 9, 10, 7, 8}));
  auto bad = RunNode(node, {{"x", Int64s({2, 3}, {})}, {"l", Int64s({2}, {1, 4})}});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "sequence_lens[1]"));
}

TEST(Unique, UnsortedInt64SlicesWithAllOutputs) {
  auto node = MakeNode("Unique", {"x"}, {"y", "idx", "inv", "cnt"});
  SetAttr(&node, "axis", int64_t{0});
  SetAttr(&node, "sorted", int64_t{0});
  // Rows: [3, 1], [0, 2], [3, 1]: first occurrence order keeps [3, 1] first.
  auto out = RunNode(node, {{"x", Int64s({3, 2}, {3, 1, 0, 2, 3, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{3, 1, 0, 2}));
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{0, 1}));
  EXPECT_EQ(Values(out.value()[2]), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(Values(out.value()[3]), (std::vector<double>{2, 1}));
  auto bad = MakeNode("Unique", {"x"}, {"y"});
  SetAttr(&bad, "axis", int64_t{2});
  auto refused = RunNode(bad, {{"x", Int64s({3, 2}, {})}});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "axis 2"));
}

}  // namespace
}  // namespace pq::testing
