// Tests of src/exec/graph_plan.cc: outer-scope names of bodies, ordering by
// captured values, and that the fused plan keeps values a body captures.
#include "exec/graph_plan.h"

#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"
#include "exec/kernels/body_builder.h"
#include "pq/executor.h"
#include "testutil/graph_builder.h"

namespace pq::exec {
namespace {

using testing::MakeBody;
using testing::MakeNode;
using testing::SetGraphAttr;

TEST(GraphPlanTest, FreeNamesAreWhatABodyAndItsNestedBodiesReadFromOutside) {
  onnx::NodeProto inner = MakeNode("If", {"c"}, {"r"});
  SetGraphAttr(&inner, "then_branch", MakeBody({}, {"t"}, {MakeNode("Add", {"a", "deep"}, {"t"})}));
  SetGraphAttr(&inner, "else_branch", MakeBody({}, {"outer_out"}, {}));
  onnx::GraphProto body = MakeBody({"a"}, {"r", "b"}, {MakeNode("Neg", {"x"}, {"c"}), inner});
  // a is a formal input, c and r are defined inside; x, deep, outer_out and
  // the output b come from outside.
  EXPECT_EQ(FreeNames(body), (std::vector<std::string>{"b", "deep", "outer_out", "x"}));
}

TEST(GraphPlanTest, ANodeWhoseBodyReadsAValueRunsAfterItsProducer) {
  onnx::GraphProto graph;
  onnx::NodeProto if_node = MakeNode("If", {"c"}, {"y"});
  SetGraphAttr(&if_node, "then_branch", MakeBody({}, {"v"}, {}));
  SetGraphAttr(&if_node, "else_branch", MakeBody({}, {"v"}, {}));
  *graph.add_node() = if_node;                       // listed first, reads v in its bodies
  *graph.add_node() = MakeNode("Neg", {"x"}, {"v"});  // produces v
  Result<std::vector<int>> order = TopologicalOrder(graph, "g");
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(order.value(), (std::vector<int>{1, 0}));
}

// Conv -> C -> Relu -> Y, and an If whose branch returns C itself: fusing the
// Relu into the Conv would leave C unproduced, so an unobserved run (the
// fused plan) must still give the If the Conv's negative values.
TEST(GraphPlanTest, AValueABodyCapturesIsNotFusedAway) {
  testing::GraphBuilder b;
  b.Input("X", {1, 1, 1, 2}).Output("Y", {1, 1, 1, 2}).Output("Z", {1, 1, 1, 2});
  b.Floats("W", {1, 1, 1, 1}, {2.0f});
  onnx::TensorProto* cond = b.graph()->add_initializer();
  cond->set_name("cond");
  cond->set_data_type(onnx::TensorProto::BOOL);
  cond->add_int32_data(1);
  b.Node("Conv", {"X", "W"}, {"C"});
  b.Node("Relu", {"C"}, {"Y"});
  onnx::NodeProto* if_node = b.Node("If", {"cond"}, {"Z"});
  SetGraphAttr(if_node, "then_branch", MakeBody({}, {"C"}, {}));
  SetGraphAttr(if_node, "else_branch", MakeBody({}, {"C"}, {}));
  std::unique_ptr<Model> model = b.Build();
  ASSERT_NE(model, nullptr);
  Result<std::unique_ptr<Executor>> executor = Executor::Create(*model);
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  Result<std::vector<Tensor>> out = executor.value()->Run({{"X", testing::Floats({1, 1, 1, 2}, {-1, 3})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(testing::Values(out.value()[0]), (std::vector<double>{0, 6}));
  EXPECT_EQ(testing::Values(out.value()[1]), (std::vector<double>{-2, 6}));
}

TEST(GraphPlanTest, ExecutorRefusesAMaxLoopIterationsBelowOne) {
  testing::GraphBuilder b;
  b.Input("X", {1}).Output("Y", {1});
  b.Node("Neg", {"X"}, {"Y"});
  std::unique_ptr<Model> model = b.Build();
  ExecutorOptions options;
  options.max_loop_iterations = 0;
  Result<std::unique_ptr<Executor>> executor = Executor::Create(*model, options);
  ASSERT_FALSE(executor.ok());
  EXPECT_NE(executor.status().message().find("max_loop_iterations must be at least 1"), std::string::npos);
}

}  // namespace
}  // namespace pq::exec
