#include "quant/embedding_tables.h"

#include <map>
#include <set>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "quant/float_type.h"
#include "quant/matmul_replace.h"

namespace pq::quant {
namespace {

// Every name read inside the subgraphs of `graph`'s nodes.
void CollectSubgraphReads(const onnx::GraphProto& graph, bool inside, std::set<std::string>* reads) {
  for (const auto& node : graph.node()) {
    if (inside) reads->insert(node.input().begin(), node.input().end());
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectSubgraphReads(attr.g(), true, reads);
      for (const auto& g : attr.graphs()) CollectSubgraphReads(g, true, reads);
    }
  }
}

bool IsDefaultOp(const onnx::NodeProto& node, const char* op) {
  return IsDefaultDomain(node.domain()) && node.op_type() == op;
}

constexpr const char* kTokenInput = "input_ids";

bool IsMatMulOrGemm(const onnx::NodeProto& node) {
  return IsDefaultOp(node, "MatMul") || IsDefaultOp(node, "Gemm");
}

bool HasTokenInput(const onnx::GraphProto& graph) {
  for (const auto& in : graph.input()) {
    if (in.name() == kTokenInput) return true;
  }
  return false;
}

// Whether `tensor` is the token input, directly or through ops that only
// cast or reshape it.
bool FromTokens(const std::map<std::string, const onnx::NodeProto*>& producer, std::string tensor) {
  static const std::set<std::string> kThrough = {"Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity"};
  for (int depth = 0; depth < 16; ++depth) {
    if (tensor == kTokenInput) return true;
    auto p = producer.find(tensor);
    if (p == producer.end() || !IsDefaultDomain(p->second->domain()) || kThrough.count(p->second->op_type()) == 0 ||
        p->second->input_size() == 0) {
      return false;
    }
    tensor = p->second->input(0);
  }
  return false;
}

}  // namespace

std::vector<EmbeddingTable> FindEmbeddingTables(const Model& model) {
  const onnx::GraphProto& graph = model.proto().graph();
  const bool decoder = HasTokenInput(graph);
  std::map<std::string, const onnx::NodeProto*> producer;
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) producer[out] = &node;
  }
  std::map<std::string, EmbeddingTable> found;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (!IsDefaultOp(node, "Gather") || node.input_size() != 2 || AttrInt(node, "axis", 0) != 0) continue;
    const ConstantTensor* data = model.FindConstant(node.input(0));
    if (data == nullptr || !IsQuantizableFloat(data->data_type) || data->dims.size() != 2 ||
        model.FindConstant(node.input(1)) != nullptr || (decoder && !FromTokens(producer, node.input(1)))) {
      continue;
    }
    EmbeddingTable& t = found[data->name];
    t.tensor = data->name;
    t.rows = data->dims[0];
    t.cols = data->dims[1];
  }
  if (found.empty()) return {};
  std::set<std::string> excluded;
  CollectSubgraphReads(graph, false, &excluded);
  for (const auto& out : graph.output()) excluded.insert(out.name());
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (int k = 0; k < node.input_size(); ++k) {
      auto it = found.find(node.input(k));
      if (it == found.end()) continue;
      const bool gather = IsDefaultOp(node, "Gather") && k == 0 && AttrInt(node, "axis", 0) == 0 &&
                          model.FindConstant(node.input(1)) == nullptr;
      (gather ? it->second.gathers : it->second.other_reads).push_back({i, k});
    }
  }
  std::vector<EmbeddingTable> tables;
  for (const ConstantTensor& c : model.constants()) {
    auto it = found.find(c.name);
    if (it != found.end() && excluded.count(c.name) == 0) tables.push_back(std::move(it->second));
  }
  return tables;
}

bool ReadsAsWeight(const Model& model, int node, const std::string& tensor) {
  const onnx::GraphProto& graph = model.proto().graph();
  const onnx::NodeProto& n = graph.node(node);
  if (n.input_size() < 2) return false;
  if (n.input(1) == tensor) return true;
  for (const auto& producer : graph.node()) {
    if (producer.output_size() == 1 && producer.output(0) == n.input(1)) {
      return IsDefaultOp(producer, "Transpose") && producer.input_size() == 1 && producer.input(0) == tensor;
    }
  }
  return false;
}

int FindLmHead(const Model& model) {
  const onnx::GraphProto& graph = model.proto().graph();
  if (!HasTokenInput(graph)) return -1;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (const auto& out : node.output()) {
      if (out == "logits" && IsMatMulOrGemm(node)) return i;
    }
  }
  // No MatMul/Gemm writes logits: the last MatMul/Gemm reading a constant.
  std::map<std::string, std::string> transposed;  // Transpose output -> input
  for (const auto& node : graph.node()) {
    if (IsDefaultOp(node, "Transpose") && node.input_size() == 1) transposed[node.output(0)] = node.input(0);
  }
  for (int i = graph.node_size() - 1; i >= 0; --i) {
    const onnx::NodeProto& node = graph.node(i);
    if (!IsMatMulOrGemm(node) || node.input_size() < 2) continue;
    auto t = transposed.find(node.input(1));
    const std::string& b = t != transposed.end() ? t->second : node.input(1);
    if (model.FindConstant(b) != nullptr) return i;
  }
  return -1;
}

}  // namespace pq::quant
