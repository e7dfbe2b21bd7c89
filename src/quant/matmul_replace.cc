#include "quant/matmul_replace.h"

#include "quant/float_type.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

bool IsGemm(const onnx::NodeProto& node) { return node.op_type() == "Gemm"; }

bool HasBias(const onnx::NodeProto& node) {
  return IsGemm(node) && node.input_size() > 2 && !node.input(2).empty() &&
         AttrFloat(node, "beta", 1.0f) != 0.0f;
}

}  // namespace

float AttrFloat(const onnx::NodeProto& node, const char* name, float def) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.f();
  }
  return def;
}

int64_t AttrInt(const onnx::NodeProto& node, const char* name, int64_t def) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return def;
}

void EnsureMicrosoftOpset(onnx::ModelProto* model) {
  for (const auto& o : model->opset_import()) {
    if (o.domain() == "com.microsoft") return;
  }
  auto* o = model->add_opset_import();
  o->set_domain("com.microsoft");
  o->set_version(1);
}

onnx::NodeProto* NodeList::Add(const std::string& op, const std::vector<std::string>& inputs,
                               const std::string& output) {
  onnx::NodeProto node;
  node.set_op_type(op);
  node.set_name(names_->Make(base_ + "_" + op));
  for (const auto& in : inputs) node.add_input(in);
  node.add_output(output.empty() ? names_->Make(base_ + "_" + op + "_out") : output);
  out_->push_back(std::move(node));
  return &out_->back();
}

std::string SharedConstant(onnx::GraphProto* graph, NameAllocator* names, BlockwiseNodes* nodes,
                           const std::string& base, int32_t dtype, const std::vector<int64_t>& dims,
                           const std::string& raw) {
  const std::string key = std::to_string(dtype) + ":" + std::to_string(dims.size()) + ":" + raw;
  auto it = nodes->shared.find(key);
  if (it != nodes->shared.end()) return it->second;
  const std::string name = names->Make(base);
  *graph->add_initializer() = Initializer(name, dtype, dims, raw);
  nodes->shared[key] = name;
  return name;
}

Status CheckReplaceableMatMul(const onnx::NodeProto& node, int input, const char* what) {
  if (input != 1 || (node.op_type() != "MatMul" && !IsGemm(node)) ||
      (IsGemm(node) && AttrInt(node, "transA", 0) != 0) || node.output_size() != 1) {
    return Status::NotSupported("node '" + node.name() + "' (" + node.op_type() + ") cannot be replaced by " +
                                what);
  }
  return Status::OK();
}

bool NeedsGemmTail(const onnx::NodeProto& node) {
  return IsGemm(node) && (AttrFloat(node, "alpha", 1.0f) != 1.0f || HasBias(node));
}

void AddGemmTail(const onnx::NodeProto& node, std::string product, int32_t float_type,
                 onnx::GraphProto* graph, NameAllocator* names, BlockwiseNodes* nodes, NodeList* list) {
  if (!NeedsGemmTail(node)) return;
  const std::string& y = node.output(0);
  const float alpha = AttrFloat(node, "alpha", 1.0f);
  const float beta = AttrFloat(node, "beta", 1.0f);
  const bool bias = HasBias(node);
  if (alpha != 1.0f) {
    const std::string a = SharedConstant(graph, names, nodes, "gemm_alpha", float_type, {},
                                         FloatRaw({alpha}, float_type));
    product = list->Add("Mul", {product, a}, bias ? "" : y)->output(0);
  }
  if (!bias) return;
  std::string c_in = node.input(2);
  if (beta != 1.0f) {
    const std::string b = SharedConstant(graph, names, nodes, "gemm_beta", float_type, {},
                                         FloatRaw({beta}, float_type));
    c_in = list->Add("Mul", {c_in, b})->output(0);
  }
  list->Add("Add", {product, c_in}, y);
}

}  // namespace pq::quant
