// Tests of src/quant/shared_constants.cc: a body's copy of an enclosing
// graph's constant reads the enclosing one, equal copies in sibling bodies
// move to their common graph, and nothing else changes.
#include "quant/shared_constants.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "testutil/model_builder.h"

namespace pq::quant {
namespace {

onnx::TensorProto Floats(const std::string& name, const std::vector<float>& values) {
  return testing::FloatTensor(name, {static_cast<int64_t>(values.size())}, values);
}

onnx::GraphProto* Branch(onnx::NodeProto* node, const std::string& attribute) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(attribute);
  a->set_type(onnx::AttributeProto::GRAPH);
  return a->mutable_g();
}

void Add(onnx::GraphProto* g, const std::string& a, const std::string& b, const std::string& out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("Add");
  n->add_input(a);
  n->add_input(b);
  n->add_output(out);
}

std::vector<std::string> InitializerNames(const onnx::GraphProto& g) {
  std::vector<std::string> names;
  for (const auto& t : g.initializer()) names.push_back(t.name());
  return names;
}

// main: A = {1, 2}; If: then holds A_copy = {1, 2} and C_then = {7, 8},
// else holds C_else = {7, 8}, D = {9, 9} and E = {1, 2, 3} (an output).
onnx::ModelProto Model(int64_t ir_version) {
  onnx::ModelProto m;
  m.set_ir_version(ir_version);
  onnx::GraphProto* g = m.mutable_graph();
  *g->add_initializer() = Floats("A", {1, 2});
  onnx::NodeProto* gate = g->add_node();
  gate->set_op_type("If");
  gate->set_name("gate");
  gate->add_input("c");
  gate->add_output("y");
  onnx::GraphProto* then_g = Branch(gate, "then_branch");
  *then_g->add_initializer() = Floats("A_copy", {1, 2});
  *then_g->add_initializer() = Floats("C_then", {7, 8});
  Add(then_g, "A_copy", "C_then", "t");
  then_g->add_output()->set_name("t");
  onnx::GraphProto* else_g = Branch(gate, "else_branch");
  *else_g->add_initializer() = Floats("C_else", {7, 8});
  *else_g->add_initializer() = Floats("D", {9, 9});
  *else_g->add_initializer() = Floats("E", {1, 2, 3});
  Add(else_g, "C_else", "D", "e");
  else_g->add_output()->set_name("e");
  else_g->add_output()->set_name("E");
  return m;
}

const onnx::GraphProto& Body(const onnx::ModelProto& m, int attribute) {
  return m.graph().node(0).attribute(attribute).g();
}

TEST(ShareBodyConstantsTest, CopiesReadTheEnclosingGraphAndSiblingsShareOne) {
  onnx::ModelProto m = Model(8);
  const std::map<std::string, std::string> renamed = ShareBodyConstants(&m);
  EXPECT_EQ(renamed, (std::map<std::string, std::string>{{"A_copy", "A"}, {"C_else", "C_then"}}));
  EXPECT_EQ(InitializerNames(m.graph()), (std::vector<std::string>{"A", "C_then"}));
  EXPECT_TRUE(InitializerNames(Body(m, 0)).empty());
  EXPECT_EQ(InitializerNames(Body(m, 1)), (std::vector<std::string>{"D", "E"})) << "unique, and an output";
  EXPECT_EQ(Body(m, 0).node(0).input(0), "A");
  EXPECT_EQ(Body(m, 0).node(0).input(1), "C_then");
  EXPECT_EQ(Body(m, 1).node(0).input(0), "C_then");
  EXPECT_EQ(m.graph().initializer(1).raw_data().size(), 2 * sizeof(float)) << "moved whole";
}

TEST(ShareBodyConstantsTest, BelowIrVersion4NothingMovesToTheMainGraph) {
  onnx::ModelProto m = Model(3);
  const std::map<std::string, std::string> renamed = ShareBodyConstants(&m);
  EXPECT_EQ(renamed, (std::map<std::string, std::string>{{"A_copy", "A"}}));
  EXPECT_EQ(InitializerNames(m.graph()), (std::vector<std::string>{"A"}));
  EXPECT_EQ(InitializerNames(Body(m, 0)), (std::vector<std::string>{"C_then"}));
}

TEST(ShareBodyConstantsTest, AModelWithoutBodiesOrEqualConstantsIsUnchanged) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  *m.mutable_graph()->add_initializer() = Floats("A", {1, 2});
  *m.mutable_graph()->add_initializer() = Floats("B", {1, 2});
  const std::string before = m.SerializeAsString();
  EXPECT_TRUE(ShareBodyConstants(&m).empty());
  EXPECT_EQ(m.SerializeAsString(), before) << "equal constants of one graph are left alone";
  onnx::ModelProto bodies = Model(8);
  auto* then_inits = bodies.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_initializer();
  *then_inits->Mutable(0) = Floats("A_copy", {1, 3});  // no longer equal to A
  ShareBodyConstants(&bodies);
  EXPECT_EQ(InitializerNames(Body(bodies, 0)), (std::vector<std::string>{"A_copy"}));
}

TEST(RenameWrittenTest, RenamesTheWrittenNamesOnly) {
  std::vector<QuantizedTensorRecord> records(1);
  records[0].name = "W";
  records[0].quantized_name = "W_q2";
  records[0].scale_name = "W_s2";
  records[0].zero_point_name = "W_zp";
  RenameWritten({{"W_q2", "W_q"}, {"W_s2", "W_s"}, {"W", "X"}}, &records);
  EXPECT_EQ(records[0].name, "W");
  EXPECT_EQ(records[0].quantized_name, "W_q");
  EXPECT_EQ(records[0].scale_name, "W_s");
  EXPECT_EQ(records[0].zero_point_name, "W_zp");
}

}  // namespace
}  // namespace pq::quant
