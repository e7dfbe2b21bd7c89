#include "quant/constant_edit.h"

#include <algorithm>
#include <utility>

#include "quant/float_type.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

// Every name read by a node of a subgraph of `graph` (at any depth).
void SubgraphReads(const onnx::GraphProto& graph, bool inside, std::set<std::string>* reads) {
  for (const onnx::NodeProto& node : graph.node()) {
    if (inside) reads->insert(node.input().begin(), node.input().end());
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.has_g()) SubgraphReads(a.g(), true, reads);
      for (const onnx::GraphProto& g : a.graphs()) SubgraphReads(g, true, reads);
    }
  }
}

}  // namespace

GraphReaders::GraphReaders(const onnx::GraphProto& graph) {
  for (int i = 0; i < graph.node_size(); ++i) {
    if (graph.node(i).op_type() == "Shape" || graph.node(i).op_type() == "Size") continue;
    for (const std::string& in : graph.node(i).input()) {
      if (!in.empty()) nodes_[in].insert(i);
    }
  }
  for (const auto& out : graph.output()) external_.insert(out.name());
  SubgraphReads(graph, false, &external_);
}

bool GraphReaders::OnlyBy(const std::string& name, const std::set<int>& allowed) const {
  if (external_.count(name) != 0) return false;
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return true;
  return std::all_of(it->second.begin(), it->second.end(), [&](int i) { return allowed.count(i) != 0; });
}

std::set<int> GraphReaders::NodesReading(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? std::set<int>{} : it->second;
}

void SetConstant(onnx::GraphProto* graph, const std::string& name, int32_t dtype, const std::vector<int64_t>& dims,
                 const std::vector<float>& values) {
  onnx::TensorProto t = Initializer(name, dtype, dims, FloatRaw(values, dtype));
  for (onnx::TensorProto& init : *graph->mutable_initializer()) {
    if (init.name() == name) {
      init = std::move(t);
      return;
    }
  }
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    if (node.op_type() != "Constant" || node.output_size() != 1 || node.output(0) != name) continue;
    node.clear_attribute();
    onnx::AttributeProto* a = node.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    t.clear_name();
    *a->mutable_t() = std::move(t);
    return;
  }
}

}  // namespace pq::quant
