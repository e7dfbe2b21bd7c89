// Builds the graph attributes of control-flow nodes (If, Loop, Scan) for the
// kernel tests: a body is its formal inputs, outputs and nodes.
#ifndef PQ_TESTS_EXEC_KERNELS_BODY_BUILDER_H_
#define PQ_TESTS_EXEC_KERNELS_BODY_BUILDER_H_

#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace pq::testing {

// A graph with untyped inputs and outputs named as given, and `nodes`.
inline onnx::GraphProto MakeBody(const std::vector<std::string>& inputs,
                                 const std::vector<std::string>& outputs,
                                 const std::vector<onnx::NodeProto>& nodes) {
  onnx::GraphProto g;
  g.set_name("body");
  for (const auto& in : inputs) g.add_input()->set_name(in);
  for (const auto& out : outputs) g.add_output()->set_name(out);
  for (const auto& node : nodes) *g.add_node() = node;
  return g;
}

// Declares output `index` of `g` a float tensor of `dims`.
inline void DeclareFloatOutput(onnx::GraphProto* g, int index, const std::vector<int64_t>& dims) {
  auto* tt = g->mutable_output(index)->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

inline void SetGraphAttr(onnx::NodeProto* node, const std::string& name, const onnx::GraphProto& g) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = g;
}

}  // namespace pq::testing

#endif  // PQ_TESTS_EXEC_KERNELS_BODY_BUILDER_H_
