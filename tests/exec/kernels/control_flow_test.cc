// Tests of src/exec/kernels/control_flow.cc (If, Loop) through the executor:
// bodies read outer-scope values, nest, terminate, and are refused with a
// message naming the node.
#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"
#include "exec/kernels/body_builder.h"
#include "pq/data_type.h"

namespace pq::testing {
namespace {

// If: then_branch = x * x, else_branch = -x; x is read from the outer graph.
OneNodeCase IfCase(bool cond) {
  OneNodeCase c;
  c.node = MakeNode("If", {"cond"}, {"y"});
  SetGraphAttr(&c.node, "then_branch", MakeBody({}, {"sq"}, {MakeNode("Mul", {"x", "x"}, {"sq"})}));
  SetGraphAttr(&c.node, "else_branch", MakeBody({}, {"neg"}, {MakeNode("Neg", {"x"}, {"neg"})}));
  c.inputs["cond"] = MakeTensor<int>(kBool, {1}, {cond ? 1 : 0});
  c.inputs["x"] = Floats({3}, {1, -2, 3});
  return c;
}

TEST(IfTest, RunsTheBranchCondSelectsReadingAnOuterValue) {
  Result<std::vector<Tensor>> then_out = RunOneNode(IfCase(true));
  ASSERT_TRUE(then_out.ok()) << then_out.status().ToString();
  EXPECT_EQ(Values(then_out.value()[0]), (std::vector<double>{1, 4, 9}));
  Result<std::vector<Tensor>> else_out = RunOneNode(IfCase(false));
  ASSERT_TRUE(else_out.ok()) << else_out.status().ToString();
  EXPECT_EQ(Values(else_out.value()[0]), (std::vector<double>{-1, 2, -3}));
}

TEST(IfTest, RefusesABranchWithAnotherOutputCountNamingTheNode) {
  OneNodeCase c = IfCase(true);
  c.node.mutable_attribute(1)->mutable_g()->add_output()->set_name("x");
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("node 'If_node' (If): else_branch has 2 outputs, the node 1"),
            std::string::npos) << out.status().ToString();
}

TEST(IfTest, RefusesAMissingBranchAttribute) {
  OneNodeCase c = IfCase(true);
  c.node.mutable_attribute()->RemoveLast();  // else_branch
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(If): the graph attribute 'else_branch' is missing"),
            std::string::npos) << out.status().ToString();
}

TEST(IfTest, RefusesASequenceTypedBranchOutputAsNotSupported) {
  OneNodeCase c = IfCase(true);
  c.node.mutable_attribute(0)->mutable_g()->mutable_output(0)->mutable_type()->mutable_sequence_type();
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(out.status().message().find("body 'then_branch': 'sq' is not a tensor"), std::string::npos)
      << out.status().ToString();
}

// The model loader already checks names in bodies against the enclosing
// scopes (src/io); the executor's own check (CheckValuesAvailable) backs it.
TEST(IfTest, RefusesABodyReadingANameNoGraphDefines) {
  OneNodeCase c = IfCase(true);
  c.node.mutable_attribute(0)->mutable_g()->mutable_node(0)->set_input(1, "nowhere");
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("node 'Mul_node' (Mul) input 'nowhere' is not a graph input"),
            std::string::npos) << out.status().ToString();
}

// Loop carrying s (s_out = s + x, x outer) with a scan output of s_out;
// cond passes through.
OneNodeCase AccumulateLoop(int64_t trip_count) {
  OneNodeCase c;
  c.node = MakeNode("Loop", {"M", "", "s0"}, {"s_final", "s_all"});
  onnx::GraphProto body = MakeBody({"i", "cond_in", "s"}, {"cond_out", "s_out", "s_scan"},
                                   {MakeNode("Identity", {"cond_in"}, {"cond_out"}),
                                    MakeNode("Add", {"s", "x"}, {"s_out"}),
                                    MakeNode("Identity", {"s_out"}, {"s_scan"})});
  DeclareFloatOutput(&body, 2, {2});
  SetGraphAttr(&c.node, "body", body);
  c.inputs["M"] = Int64s({}, {trip_count});
  c.inputs["s0"] = Floats({2}, {1, 10});
  c.inputs["x"] = Floats({2}, {1, 2});
  return c;
}

TEST(LoopTest, RunsTripCountIterationsAndStacksScanOutputs) {
  Result<std::vector<Tensor>> out = RunOneNode(AccumulateLoop(3));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{4, 16}));
  EXPECT_EQ(out.value()[1].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{2, 12, 3, 14, 4, 16}));
}

TEST(LoopTest, ZeroIterationsReturnTheInitialValuesAndAnEmptyScan) {
  Result<std::vector<Tensor>> out = RunOneNode(AccumulateLoop(0));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{1, 10}));
  EXPECT_EQ(out.value()[1].shape(), (std::vector<int64_t>{0, 2}));
}

// No M: counts c up while c_out < limit (an outer value).
OneNodeCase CountWhileLoop(bool cond_can_end) {
  OneNodeCase c;
  c.node = MakeNode("Loop", {"", "start", "c0"}, {"c_final"});
  std::vector<onnx::NodeProto> nodes = {MakeNode("Add", {"c", "one"}, {"c_out"})};
  nodes.push_back(cond_can_end ? MakeNode("Less", {"c_out", "limit"}, {"cond_out"})
                               : MakeNode("Identity", {"cond_in"}, {"cond_out"}));
  SetGraphAttr(&c.node, "body", MakeBody({"i", "cond_in", "c"}, {"cond_out", "c_out"}, nodes));
  c.inputs["start"] = MakeTensor<int>(kBool, {}, {1});
  c.inputs["c0"] = Int64s({}, {0});
  c.inputs["one"] = Int64s({}, {1});
  c.inputs["limit"] = Int64s({}, {5});
  return c;
}

TEST(LoopTest, EndsWhenTheBodyCondBecomesFalse) {
  Result<std::vector<Tensor>> out = RunOneNode(CountWhileLoop(true));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{5}));
}

TEST(LoopTest, ALoopThatNeverEndsStopsAtTheIterationLimitNamingTheNode) {
  constexpr int64_t kLimit = 50;
  OneNodeCase c = CountWhileLoop(false);
  c.max_loop_iterations = kLimit;
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(out.status().message().find("node 'Loop_node' (Loop): did not end within 50 iterations"),
            std::string::npos) << out.status().ToString();
  // The same loop with an end runs under the same limit.
  OneNodeCase ends = CountWhileLoop(true);
  ends.max_loop_iterations = kLimit;
  EXPECT_TRUE(RunOneNode(ends).ok());
}

TEST(LoopTest, NestedIfReadsValuesOfBothEnclosingGraphs) {
  // s_out = i < 2 ? s + x : s * two, with x and two outer to the Loop.
  OneNodeCase c;
  c.node = MakeNode("Loop", {"M", "", "s0"}, {"s_final"});
  onnx::NodeProto inner_if = MakeNode("If", {"early"}, {"s_out"});
  SetGraphAttr(&inner_if, "then_branch", MakeBody({}, {"a"}, {MakeNode("Add", {"s", "x"}, {"a"})}));
  SetGraphAttr(&inner_if, "else_branch", MakeBody({}, {"m"}, {MakeNode("Mul", {"s", "two"}, {"m"})}));
  SetGraphAttr(&c.node, "body",
               MakeBody({"i", "cond_in", "s"}, {"cond_out", "s_out"},
                        {MakeNode("Identity", {"cond_in"}, {"cond_out"}),
                         MakeNode("Less", {"i", "two_i"}, {"early"}), inner_if}));
  c.inputs["M"] = Int64s({}, {4});
  c.inputs["s0"] = Floats({1}, {1});
  c.inputs["x"] = Floats({1}, {1});
  c.inputs["two"] = Floats({1}, {2});
  c.inputs["two_i"] = Int64s({}, {2});
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{12}));  // 1 +1 +1 *2 *2
}

TEST(LoopTest, RefusesABodyWithTheWrongInputCount) {
  OneNodeCase c = AccumulateLoop(2);
  c.node.mutable_attribute(0)->mutable_g()->mutable_input()->RemoveLast();
  c.node.mutable_attribute(0)->mutable_g()->add_input()->set_name("s");
  c.node.mutable_attribute(0)->mutable_g()->add_input()->set_name("extra");
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(Loop): the body has 4 inputs, expected 3"), std::string::npos)
      << out.status().ToString();
}

TEST(LoopTest, RefusesALoopCarriedValueChangingType) {
  OneNodeCase c = AccumulateLoop(2);
  onnx::NodeProto cast = MakeNode("Cast", {"s_out"}, {"s_int"});
  SetAttr(&cast, "to", static_cast<int64_t>(onnx::TensorProto::INT32));
  auto* body = c.node.mutable_attribute(0)->mutable_g();
  *body->add_node() = cast;
  body->mutable_output(1)->set_name("s_int");
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(Loop): loop-carried value 0 changes type from float to int32"),
            std::string::npos) << out.status().ToString();
}

TEST(LoopTest, RefusesScanOutputsOfDifferentShapesAcrossIterations) {
  // s grows by concatenation (allowed for a loop-carried value); the scan
  // output of it cannot be stacked.
  OneNodeCase c = AccumulateLoop(2);
  auto* body = c.node.mutable_attribute(0)->mutable_g();
  *body->mutable_node(1) = MakeNode("Concat", {"s", "x"}, {"s_out"});
  SetAttr(body->mutable_node(1), "axis", static_cast<int64_t>(0));
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("scan output 0 is float [6] at iteration 1 but float [4]"),
            std::string::npos) << out.status().ToString();
}

}  // namespace
}  // namespace pq::testing
