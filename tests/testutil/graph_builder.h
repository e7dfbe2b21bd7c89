// A small fluent builder of ONNX graphs for the quantizer and report unit tests
// (plan, QDQ writer, report): inputs, outputs, fixed-seed initializers and
// nodes in the order they are added, wrapped as a validated pq::Model.
#ifndef PQ_TESTS_TESTUTIL_GRAPH_BUILDER_H_
#define PQ_TESTS_TESTUTIL_GRAPH_BUILDER_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "testutil/model_builder.h"

namespace pq::testing {

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 13) {
    proto_.set_ir_version(8);
    proto_.set_producer_name("pq-tests");
    proto_.add_opset_import()->set_version(opset);
    proto_.mutable_graph()->set_name("test_graph");
  }
  GraphBuilder& Input(const std::string& name, const std::vector<int64_t>& dims) {
    *graph()->add_input() = FloatValueInfo(name, dims);
    return *this;
  }
  GraphBuilder& Output(const std::string& name, const std::vector<int64_t>& dims) {
    *graph()->add_output() = FloatValueInfo(name, dims);
    return *this;
  }
  // A fixed-seed random float initializer in [-1, 1).
  GraphBuilder& Weight(const std::string& name, const std::vector<int64_t>& dims, uint32_t seed = 1) {
    *graph()->add_initializer() = RandomFloatTensor(name, dims, seed);
    return *this;
  }
  GraphBuilder& Floats(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<float>& values) {
    *graph()->add_initializer() = FloatTensor(name, dims, values);
    return *this;
  }
  // Adds a node named `name` (op type when empty); returns it for attributes.
  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    onnx::NodeProto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op : name);
    for (const auto& in : inputs) n->add_input(in);
    for (const auto& out : outputs) n->add_output(out);
    return n;
  }
  static void IntAttr(onnx::NodeProto* node, const std::string& name, int64_t value) {
    onnx::AttributeProto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  onnx::GraphProto* graph() { return proto_.mutable_graph(); }
  const onnx::ModelProto& proto() const { return proto_; }
  // The graph as a validated Model (fails the test when it does not load).
  std::unique_ptr<Model> Build() const {
    auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto_), ".", "test.onnx");
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    return model.ok() ? std::move(model).value() : nullptr;
  }

 private:
  onnx::ModelProto proto_;
};

}  // namespace pq::testing

#endif  // PQ_TESTS_TESTUTIL_GRAPH_BUILDER_H_
