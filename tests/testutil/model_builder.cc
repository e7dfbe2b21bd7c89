#include "testutil/model_builder.h"

#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

namespace pq::testing {

onnx::TensorProto FloatTensor(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  std::string raw(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  t.set_raw_data(raw);
  return t;
}

onnx::TensorProto Int64Tensor(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<int64_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t.add_dims(d);
  std::string raw(values.size() * sizeof(int64_t), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  t.set_raw_data(raw);
  return t;
}

onnx::ModelProto OneNodeModel(const std::string& op, const std::string& node_name,
                              const std::vector<std::string>& inputs,
                              const std::vector<int64_t>& x_dims,
                              const std::vector<onnx::TensorProto>& initializers, int64_t opset) {
  onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.add_opset_import()->set_version(opset);
  auto* graph = proto.mutable_graph();
  graph->set_name("one_node");
  auto* node = graph->add_node();
  node->set_op_type(op);
  node->set_name(node_name);
  for (const std::string& in : inputs) node->add_input(in);
  node->add_output("Y");
  for (const onnx::TensorProto& t : initializers) *graph->add_initializer() = t;
  *graph->add_input() = FloatValueInfo("X", x_dims);
  auto* y = graph->add_output();
  y->set_name("Y");
  y->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return proto;
}

void AddIntsAttr(onnx::NodeProto* node, const std::string& name,
                 const std::vector<int64_t>& values, bool single) {
  auto* a = node->add_attribute();
  a->set_name(name);
  if (single) {
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(values.at(0));
    return;
  }
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

onnx::TensorProto RandomFloatTensor(const std::string& name, const std::vector<int64_t>& dims,
                                    uint32_t seed) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = dist(rng);
  return FloatTensor(name, dims, values);
}

onnx::ValueInfoProto FloatValueInfo(const std::string& name, const std::vector<int64_t>& dims) {
  onnx::ValueInfoProto info;
  info.set_name(name);
  auto* tensor_type = info.mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tensor_type->mutable_shape();
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) {
      dim->set_dim_param("batch");
    } else {
      dim->set_dim_value(d);
    }
  }
  return info;
}

namespace {

onnx::ModelProto Skeleton(int64_t opset, int64_t ir_version) {
  onnx::ModelProto model;
  model.set_ir_version(ir_version);
  model.set_producer_name("pq-tests");
  model.set_producer_version("1");
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* graph = model.mutable_graph();
  graph->set_name("tiny");
  *graph->add_input() = FloatValueInfo("X", {-1, 4});
  *graph->add_output() = FloatValueInfo("Y", {-1, 3});
  return model;
}

void AddMatMulAdd(onnx::GraphProto* graph) {
  auto* matmul = graph->add_node();
  matmul->set_name("matmul");
  matmul->set_op_type("MatMul");
  matmul->add_input("X");
  matmul->add_input("W");
  matmul->add_output("XW");
  auto* add = graph->add_node();
  add->set_name("add");
  add->set_op_type("Add");
  add->add_input("XW");
  add->add_input("B");
  add->add_output("Y");
}

}  // namespace

onnx::ModelProto TinyMatMulModel(int64_t opset, int64_t ir_version) {
  onnx::ModelProto model = Skeleton(opset, ir_version);
  auto* graph = model.mutable_graph();
  *graph->add_initializer() = RandomFloatTensor("W", {4, 3}, 1);
  *graph->add_initializer() = FloatTensor("B", {3}, {0.5f, -0.25f, 1.0f});
  AddMatMulAdd(graph);
  return model;
}

onnx::ModelProto TinyConstantNodeModel() {
  onnx::ModelProto model = Skeleton(13, 8);
  auto* graph = model.mutable_graph();
  for (const auto& tensor : {RandomFloatTensor("W", {4, 3}, 1),
                             FloatTensor("B", {3}, {0.5f, -0.25f, 1.0f})}) {
    auto* node = graph->add_node();
    node->set_name("const_" + tensor.name());
    node->set_op_type("Constant");
    node->add_output(tensor.name());
    auto* attr = node->add_attribute();
    attr->set_name("value");
    attr->set_type(onnx::AttributeProto::TENSOR);
    *attr->mutable_t() = tensor;
    attr->mutable_t()->clear_name();
  }
  AddMatMulAdd(graph);
  return model;
}

void SaveProto(const onnx::ModelProto& model, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!model.SerializeToOstream(&out)) throw std::runtime_error("cannot write " + path);
}

}  // namespace pq::testing
