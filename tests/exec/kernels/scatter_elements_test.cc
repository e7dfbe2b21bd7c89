// Tests of src/exec/kernels/scatter_elements.cc (beyond ONNX's conformance
// cases): a partial indices tensor along axis 1, the reductions and the
// opset they arrive in, the opset-10 Scatter name, and inputs that must be
// refused with a Status naming the node.
#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Result<std::vector<Tensor>> RunScatter(const std::string& op, const Tensor& data,
                                       const Tensor& indices, const Tensor& updates, int64_t axis,
                                       const std::string& reduction, int64_t opset) {
  OneNodeCase c;
  c.node = MakeNode(op, {"data", "indices", "updates"}, {"y"});
  c.node.set_name("se");
  SetAttr(&c.node, "axis", axis);
  if (!reduction.empty()) SetAttr(&c.node, "reduction", reduction);
  c.inputs = {{"data", data}, {"updates", updates}};
  c.constants = {{"indices", indices}};
  c.opset = opset;
  return RunOneNode(c);
}

TEST(ScatterElements, PartialIndicesAlongAxisOneWithNegativeIndex) {
  // data[2, 3] zeros; indices[2, 1] put one update per row.
  auto out = RunScatter("ScatterElements", Floats({2, 3}, {}), Int64s({2, 1}, {2, -3}),
                        Floats({2, 1}, {7, 8}), -1, "", 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 0, 7, 8, 0, 0}));
}

TEST(ScatterElements, ReductionsCombineDuplicates) {
  const Tensor data = Int64s({1, 3}, {1, 2, 3});
  const Tensor idx = Int64s({1, 2}, {1, 1});
  const Tensor upd = Int64s({1, 2}, {4, 5});
  auto add = RunScatter("ScatterElements", data, idx, upd, 1, "add", 16);
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  EXPECT_EQ(Values(add.value()[0]), (std::vector<double>{1, 11, 3}));
  auto mul = RunScatter("ScatterElements", data, idx, upd, 1, "mul", 16);
  ASSERT_TRUE(mul.ok());
  EXPECT_EQ(Values(mul.value()[0]), (std::vector<double>{1, 40, 3}));
  auto min = RunScatter("ScatterElements", data, idx, upd, 1, "min", 18);
  ASSERT_TRUE(min.ok());
  EXPECT_EQ(Values(min.value()[0]), (std::vector<double>{1, 2, 3}));
}

TEST(ScatterElements, Opset10ScatterIsTheSameOp) {
  auto out = RunScatter("Scatter", Floats({3}, {1, 2, 3}), Int64s({1}, {0}), Floats({1}, {9}), 0,
                        "", 10);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{9, 2, 3}));
}

TEST(ScatterElements, BadIndicesAxisAndShapesAreRefusedNamingTheNode) {
  const Tensor data = Floats({2, 2}, {1, 2, 3, 4});
  auto range = RunScatter("ScatterElements", data, Int64s({1, 1}, {2}), Floats({1, 1}, {0}), 0,
                          "", 13);
  ASSERT_FALSE(range.ok());
  EXPECT_TRUE(Contains(range.status().message(), "'se'")) << range.status().ToString();
  EXPECT_TRUE(Contains(range.status().message(), "index 2 is out of range"));
  auto axis = RunScatter("ScatterElements", data, Int64s({1, 1}, {0}), Floats({1, 1}, {0}), 2,
                         "", 13);
  ASSERT_FALSE(axis.ok());
  EXPECT_TRUE(Contains(axis.status().message(), "axis 2 is out of range"));
  auto wide = RunScatter("ScatterElements", data, Int64s({1, 3}, {0, 0, 0}),
                         Floats({1, 3}, {0, 0, 0}), 0, "", 13);
  ASSERT_FALSE(wide.ok());
  EXPECT_TRUE(Contains(wide.status().message(), "no larger dims off the axis"));
  auto upd = RunScatter("ScatterElements", data, Int64s({1, 1}, {0}), Floats({1, 2}, {0, 0}), 0,
                        "", 13);
  ASSERT_FALSE(upd.ok());
  EXPECT_TRUE(Contains(upd.status().message(), "must have the shape of indices"));
}

}  // namespace
}  // namespace pq::testing
