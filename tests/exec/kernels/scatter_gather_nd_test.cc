// Tests of src/exec/kernels/scatter_gather_nd.cc (beyond ONNX's conformance
// cases): negative indices, batch_dims, every ScatterND reduction with the
// opset it arrives in, and inputs that must be refused with a Status naming
// the node.
#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Result<std::vector<Tensor>> RunGatherND(const Tensor& data, const Tensor& indices,
                                        int64_t batch_dims, int64_t opset = 13) {
  OneNodeCase c;
  c.node = MakeNode("GatherND", {"data", "indices"}, {"y"});
  c.node.set_name("gnd");
  SetAttr(&c.node, "batch_dims", batch_dims);
  c.inputs = {{"data", data}};
  c.constants = {{"indices", indices}};
  c.opset = opset;
  return RunOneNode(c);
}

Result<std::vector<Tensor>> RunScatterND(const Tensor& data, const Tensor& indices,
                                         const Tensor& updates, const std::string& reduction,
                                         int64_t opset) {
  OneNodeCase c;
  c.node = MakeNode("ScatterND", {"data", "indices", "updates"}, {"y"});
  c.node.set_name("snd");
  if (!reduction.empty()) SetAttr(&c.node, "reduction", reduction);
  c.inputs = {{"data", data}, {"updates", updates}};
  c.constants = {{"indices", indices}};
  c.opset = opset;
  return RunOneNode(c);
}

TEST(GatherND, RowsWithNegativeIndicesAndElements) {
  const Tensor data = Floats({2, 3}, {0, 1, 2, 3, 4, 5});
  auto rows = RunGatherND(data, Int64s({2, 1}, {-1, 0}), 0);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows.value()[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values(rows.value()[0]), (std::vector<double>{3, 4, 5, 0, 1, 2}));
  auto elems = RunGatherND(data, Int64s({2, 2}, {1, -1, 0, 1}), 0);
  ASSERT_TRUE(elems.ok()) << elems.status().ToString();
  EXPECT_EQ(elems.value()[0].shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(Values(elems.value()[0]), (std::vector<double>{5, 1}));
}

TEST(GatherND, BatchDimsIndexEachBatchOnItsOwn) {
  // data[2, 2, 2]; per batch, one index tuple of one coordinate.
  const Tensor data = Floats({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto out = RunGatherND(data, Int64s({2, 1}, {1, 0}), 1);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{2, 3, 4, 5}));
}

TEST(GatherND, OutOfRangeIndexAndBadShapesAreRefusedNamingTheNode) {
  const Tensor data = Floats({2, 3}, {0, 1, 2, 3, 4, 5});
  auto range = RunGatherND(data, Int64s({1, 2}, {0, 3}), 0);
  ASSERT_FALSE(range.ok());
  EXPECT_TRUE(Contains(range.status().message(), "'gnd'")) << range.status().ToString();
  EXPECT_TRUE(Contains(range.status().message(), "index 3 is out of range"));
  auto deep = RunGatherND(data, Int64s({1, 3}, {0, 0, 0}), 0);
  ASSERT_FALSE(deep.ok());
  EXPECT_TRUE(Contains(deep.status().message(), "last dim of indices"));
  auto batch = RunGatherND(data, Int64s({2, 1}, {0, 0}), 2);
  ASSERT_FALSE(batch.ok());
  EXPECT_TRUE(Contains(batch.status().message(), "batch_dims 2"));
  auto mismatch = RunGatherND(data, Int64s({3, 1}, {0, 0, 0}), 1);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_TRUE(Contains(mismatch.status().message(), "batch dims"));
}

TEST(ScatterND, EveryReductionAtItsOpset) {
  const Tensor data = Int64s({4}, {1, 2, 3, 4});
  const Tensor idx = Int64s({3, 1}, {0, -1, 0});
  const Tensor upd = Int64s({3}, {5, 6, 7});
  struct Want {
    const char* reduction;
    int64_t opset;
    std::vector<double> values;
  };
  const std::vector<Want> wants = {
      {"", 13, {7, 2, 3, 6}},       {"add", 16, {13, 2, 3, 10}}, {"mul", 16, {35, 2, 3, 24}},
      {"max", 18, {7, 2, 3, 6}},    {"min", 18, {1, 2, 3, 4}},
  };
  for (const Want& w : wants) {
    auto out = RunScatterND(data, idx, upd, w.reduction, w.opset);
    ASSERT_TRUE(out.ok()) << w.reduction << ": " << out.status().ToString();
    EXPECT_EQ(Values(out.value()[0]), w.values) << w.reduction;
  }
}

TEST(ScatterND, SlicesOfARowMatrix) {
  auto out = RunScatterND(Floats({2, 2}, {0, 0, 0, 0}), Int64s({1, 1}, {1}),
                          Floats({1, 2}, {8, 9}), "", 11);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 0, 8, 9}));
}

TEST(ScatterND, BadIndexShapeAndReductionAreRefusedNamingTheNode) {
  const Tensor data = Int64s({4}, {1, 2, 3, 4});
  auto range = RunScatterND(data, Int64s({1, 1}, {4}), Int64s({1}, {0}), "", 13);
  ASSERT_FALSE(range.ok());
  EXPECT_TRUE(Contains(range.status().message(), "'snd'")) << range.status().ToString();
  EXPECT_TRUE(Contains(range.status().message(), "out of range"));
  auto shape = RunScatterND(data, Int64s({1, 1}, {0}), Int64s({2}, {0, 0}), "", 13);
  ASSERT_FALSE(shape.ok());
  EXPECT_TRUE(Contains(shape.status().message(), "updates have shape"));
  auto early = RunScatterND(data, Int64s({1, 1}, {0}), Int64s({1}, {0}), "max", 16);
  ASSERT_FALSE(early.ok());
  EXPECT_TRUE(Contains(early.status().message(), "reduction 'max' is not defined at opset 16"));
}

}  // namespace
}  // namespace pq::testing
