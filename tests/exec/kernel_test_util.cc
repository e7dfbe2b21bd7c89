#include "exec/kernel_test_util.h"

#include <cstring>

#include "pq/model.h"

namespace pq::testing {

std::vector<double> Values(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) {
    switch (t.dtype()) {
      case kFloat: out[i] = t.data<float>()[i]; break;
      case kInt64: out[i] = static_cast<double>(t.data<int64_t>()[i]); break;
      case kInt32: out[i] = t.data<int32_t>()[i]; break;
      case kInt8: out[i] = t.data<int8_t>()[i]; break;
      case kUint8: case kBool: out[i] = t.data<uint8_t>()[i]; break;
      case kInt16: out[i] = t.data<int16_t>()[i]; break;
      case kUint16: out[i] = t.data<uint16_t>()[i]; break;
      case kUint32: out[i] = t.data<uint32_t>()[i]; break;
      case kUint64: out[i] = static_cast<double>(t.data<uint64_t>()[i]); break;
      default: break;
    }
  }
  return out;
}

namespace {

void SetValueInfo(onnx::ValueInfoProto* info, const std::string& name, const Tensor& t) {
  info->set_name(name);
  auto* tt = info->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(t.dtype());
  auto* shape = tt->mutable_shape();
  for (int64_t d : t.shape()) shape->add_dim()->set_dim_value(d);
}

}  // namespace

Result<std::vector<Tensor>> RunOneNode(const OneNodeCase& c) {
  auto proto = std::make_unique<onnx::ModelProto>();
  proto->set_ir_version(8);
  auto* op = proto->add_opset_import();
  op->set_domain("");
  op->set_version(c.opset);
  if (!c.node.domain().empty()) {
    auto* extra = proto->add_opset_import();
    extra->set_domain(c.node.domain());
    extra->set_version(1);
  }
  auto* graph = proto->mutable_graph();
  graph->set_name("one_node");
  *graph->add_node() = c.node;
  for (const auto& [name, t] : c.inputs) SetValueInfo(graph->add_input(), name, t);
  for (const auto& [name, t] : c.constants) {
    auto* init = graph->add_initializer();
    init->set_name(name);
    init->set_data_type(t.dtype());
    for (int64_t d : t.shape()) init->add_dims(d);
    init->set_raw_data(std::string(static_cast<const char*>(t.raw()),
                                   static_cast<size_t>(t.byte_size())));
  }
  for (const onnx::TensorProto& t : c.raw_initializers) *graph->add_initializer() = t;
  for (const auto& out : c.node.output()) {
    if (out.empty()) continue;
    auto* info = graph->add_output();
    info->set_name(out);
  }
  Result<std::unique_ptr<Model>> model = Model::FromProto(std::move(proto), ".", "one_node");
  if (!model.ok()) return model.status();
  ExecutorOptions options;
  options.threads = c.threads;
  options.max_loop_iterations = c.max_loop_iterations;
  Result<std::unique_ptr<Executor>> executor = Executor::Create(*model.value(), options);
  if (!executor.ok()) return executor.status();
  return executor.value()->Run(c.inputs);
}

onnx::NodeProto MakeNode(const std::string& op_type, const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs, const std::string& domain) {
  onnx::NodeProto node;
  node.set_name(op_type + "_node");
  node.set_op_type(op_type);
  node.set_domain(domain);
  for (const auto& in : inputs) node.add_input(in);
  for (const auto& out : outputs) node.add_output(out);
  return node;
}

void SetAttr(onnx::NodeProto* node, const std::string& name, int64_t value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void SetAttr(onnx::NodeProto* node, const std::string& name, float value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void SetAttr(onnx::NodeProto* node, const std::string& name, const std::string& value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

void SetAttr(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : value) a->add_ints(v);
}

void SetAttr(onnx::NodeProto* node, const std::string& name, const std::vector<float>& value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOATS);
  for (float v : value) a->add_floats(v);
}

}  // namespace pq::testing
