// The graph index, constant look-ups and projections of llama_match.h.
#include <algorithm>
#include <cstring>

#include "gguf/llama_match.h"
#include "pq/data_type.h"
#include "pq/tensor.h"

namespace pq::gguf::internal {

GraphView::GraphView(const Model& model) : model_(model) {
  const onnx::GraphProto& graph = model.proto().graph();
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) {
      if (!out.empty()) producer_[out] = &node;
    }
    for (const auto& in : node.input()) {
      if (!in.empty()) consumers_[in].push_back(&node);
    }
  }
  for (const auto& in : graph.input()) inputs_.insert(in.name());
  for (const auto& out : graph.output()) outputs_.insert(out.name());
}

const onnx::NodeProto* GraphView::Producer(const std::string& tensor) const {
  const auto it = producer_.find(tensor);
  return it == producer_.end() ? nullptr : it->second;
}

const std::vector<const onnx::NodeProto*>& GraphView::Consumers(const std::string& tensor) const {
  static const std::vector<const onnx::NodeProto*> kNone;
  const auto it = consumers_.find(tensor);
  return it == consumers_.end() ? kNone : it->second;
}

const ConstantTensor* GraphView::Constant(const std::string& tensor) const {
  return tensor.empty() ? nullptr : model_.FindConstant(tensor);
}

std::string NodeLabel(const onnx::NodeProto& node) {
  if (!node.name().empty()) return node.name();
  return node.op_type() + " -> " + (node.output_size() > 0 ? node.output(0) : std::string("?"));
}

int64_t IntAttr(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return attr.i();
  }
  return fallback;
}

double FloatAttr(const onnx::NodeProto& node, const std::string& name, double fallback) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return attr.f();
  }
  return fallback;
}

std::vector<int64_t> IntsAttr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return {attr.ints().begin(), attr.ints().end()};
  }
  return {};
}

bool IsDefaultDomain(const onnx::NodeProto& node) {
  return node.domain().empty() || node.domain() == "ai.onnx";
}

std::optional<ConstantRef> ResolveConstant(const GraphView& view, const std::string& tensor) {
  constexpr int kMaxHops = 8;  // Identity/Cast/Transpose chains are short
  ConstantRef ref;
  std::string name = tensor;
  for (int hop = 0; hop <= kMaxHops && !name.empty(); ++hop) {
    if (const ConstantTensor* constant = view.Constant(name)) {
      ref.constant = constant;
      return ref;
    }
    const onnx::NodeProto* node = view.Producer(name);
    if (node == nullptr || !IsDefaultDomain(*node) || node->input_size() < 1) return std::nullopt;
    if (node->op_type() == "Transpose") {
      const std::vector<int64_t> perm = IntsAttr(*node, "perm");
      if (!perm.empty() && perm != std::vector<int64_t>{1, 0}) return std::nullopt;
      ref.transposed = !ref.transposed;
    } else if (node->op_type() != "Identity" && node->op_type() != "Cast") {
      return std::nullopt;
    }
    name = node->input(0);
  }
  return std::nullopt;
}

namespace {

Result<Tensor> ConstantAsTensor(const ConstantTensor& constant) {
  if (constant.data == nullptr) {
    return Status::NotSupported("constant '" + constant.name + "' holds no numeric data");
  }
  return TensorFromBytes(constant.data_type, constant.dims, constant.data, constant.byte_size,
                         "constant '" + constant.name + "'");
}

}  // namespace

Result<std::vector<float>> ConstantFloats(const ConstantTensor& constant) {
  if (!IsFloatingPoint(constant.data_type)) {
    return Status::NotSupported("constant '" + constant.name + "' is " +
                                DataTypeName(constant.data_type) + ", expected a float type");
  }
  Result<Tensor> tensor = ConstantAsTensor(constant);
  if (!tensor.ok()) return tensor.status();
  if (tensor->dtype() != kFloat) {
    return Status::NotSupported("constant '" + constant.name + "' could not be read as float");
  }
  const float* data = tensor->data<float>();
  return std::vector<float>(data, data + tensor->size());
}

Result<std::vector<int64_t>> ConstantInts(const ConstantTensor& constant) {
  Result<Tensor> tensor = ConstantAsTensor(constant);
  if (!tensor.ok()) return tensor.status();
  std::vector<int64_t> out(static_cast<size_t>(tensor->size()));
  if (tensor->dtype() == kInt64) {
    std::copy_n(tensor->data<int64_t>(), out.size(), out.begin());
  } else if (tensor->dtype() == kInt32) {
    std::copy_n(tensor->data<int32_t>(), out.size(), out.begin());
  } else {
    return Status::NotSupported("constant '" + constant.name + "' is " +
                                DataTypeName(constant.data_type) + ", expected int32 or int64");
  }
  return out;
}

std::optional<double> ScalarOf(const GraphView& view, const std::string& tensor) {
  const std::optional<ConstantRef> ref = ResolveConstant(view, tensor);
  if (!ref || ref->constant->element_count != 1) return std::nullopt;
  if (IsFloatingPoint(ref->constant->data_type)) {
    Result<std::vector<float>> values = ConstantFloats(*ref->constant);
    if (values.ok()) return static_cast<double>((*values)[0]);
    return std::nullopt;
  }
  Result<std::vector<int64_t>> values = ConstantInts(*ref->constant);
  if (values.ok()) return static_cast<double>((*values)[0]);
  return std::nullopt;
}

bool IsWeightMatMul(const GraphView& view, const onnx::NodeProto& node) {
  if (!IsDefaultDomain(node) || node.input_size() < 2) return false;
  if (node.op_type() != "MatMul" && node.op_type() != "Gemm") return false;
  const std::optional<ConstantRef> ref = ResolveConstant(view, node.input(1));
  return ref && ref->constant->dims.size() == 2 && IsFloatingPoint(ref->constant->data_type);
}

std::vector<const onnx::NodeProto*> WeightMatMulsOf(const GraphView& view,
                                                    const std::string& tensor) {
  std::vector<const onnx::NodeProto*> out;
  for (const onnx::NodeProto* node : view.Consumers(tensor)) {
    if (node->input(0) == tensor && IsWeightMatMul(view, *node)) out.push_back(node);
  }
  return out;
}

Result<Projection> ReadProjection(const GraphView& view, const onnx::NodeProto& node) {
  const std::optional<ConstantRef> ref = ResolveConstant(view, node.input(1));
  if (!ref) return Status::Internal("node '" + NodeLabel(node) + "' has no constant weight");
  bool out_major = ref->transposed;  // stored [out, in] when true
  if (node.op_type() == "Gemm") {
    if (IntAttr(node, "transA", 0) != 0) {
      return Status::NotSupported("node '" + NodeLabel(node) + "': Gemm with transA is not supported");
    }
    if (IntAttr(node, "transB", 0) != 0) out_major = !out_major;
  }
  // llama.cpp's llama tensors have no projection biases: refuse a model that
  // adds one rather than write it without.
  if (node.op_type() == "Gemm" && node.input_size() > 2 && !node.input(2).empty()) {
    return Status::NotSupported("node '" + NodeLabel(node) + "': a Gemm with a bias (input C '" + node.input(2) +
                                "') has no place in llama.cpp's llama architecture");
  }
  for (const onnx::NodeProto* consumer : view.Consumers(node.output(0))) {
    if (consumer->op_type() != "Add" || consumer->input_size() != 2) continue;
    const std::string& other = consumer->input(0) == node.output(0) ? consumer->input(1) : consumer->input(0);
    if (ResolveConstant(view, other)) {
      return Status::NotSupported("node '" + NodeLabel(node) + "' adds a bias ('" + other + "' in node '" +
                                  NodeLabel(*consumer) + "'): llama.cpp's llama architecture has no projection biases");
    }
  }
  Result<std::vector<float>> stored = ConstantFloats(*ref->constant);
  if (!stored.ok()) return stored.status();
  const int64_t d0 = ref->constant->dims[0];
  const int64_t d1 = ref->constant->dims[1];
  Projection p;
  p.node = &node;
  p.source = ref->constant->name;
  p.activation = node.input(0);
  if (out_major) {
    p.rows = d0;
    p.cols = d1;
    p.values = std::move(*stored);
  } else {
    p.rows = d1;
    p.cols = d0;
    p.values.resize(stored->size());
    for (int64_t i = 0; i < d0; ++i) {
      for (int64_t o = 0; o < d1; ++o) p.values[o * d0 + i] = (*stored)[i * d1 + o];
    }
  }
  return p;
}

std::vector<const onnx::NodeProto*> BackwardClosure(const GraphView& view, const std::string& start,
                                                    const std::set<std::string>& stop,
                                                    std::set<std::string>* reached, size_t limit) {
  std::vector<const onnx::NodeProto*> nodes;
  std::set<const onnx::NodeProto*> seen;
  std::vector<std::string> pending{start};
  std::set<std::string> visited;
  while (!pending.empty() && nodes.size() < limit) {
    const std::string tensor = pending.back();
    pending.pop_back();
    if (!visited.insert(tensor).second) continue;
    if (stop.count(tensor)) {
      if (reached) reached->insert(tensor);
      continue;
    }
    const onnx::NodeProto* node = view.Producer(tensor);
    if (node == nullptr || !seen.insert(node).second) continue;
    nodes.push_back(node);
    if (node->op_type() == "Shape" || node->op_type() == "Size") continue;  // values, not shapes
    for (const auto& in : node->input()) {
      if (!in.empty()) pending.push_back(in);
    }
  }
  return nodes;
}

}  // namespace pq::gguf::internal
