#include "fuzz/graph_limits.h"

namespace pq::fuzz {

bool WithinLimits(const onnx::GraphProto& graph, const GraphLimits& limits, int* nodes) {
  *nodes += graph.node_size();
  if (*nodes > limits.max_nodes) return false;
  for (const auto& v : graph.input()) if (!limits.shape_ok(v)) return false;
  for (const auto& v : graph.output()) if (!limits.shape_ok(v)) return false;
  for (const auto& v : graph.value_info()) if (!limits.shape_ok(v)) return false;
  for (const auto& t : graph.initializer()) if (!limits.tensor_ok(t)) return false;
  if (graph.sparse_initializer_size() > 0) return false;
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_t() && !limits.tensor_ok(attr.t())) return false;
      for (const auto& t : attr.tensors()) if (!limits.tensor_ok(t)) return false;
      if (attr.has_sparse_tensor() || attr.sparse_tensors_size() > 0) return false;
      if (limits.attribute_ok && !limits.attribute_ok(node, attr)) return false;
      if (attr.has_g() && !WithinLimits(attr.g(), limits, nodes)) return false;
      for (const auto& g : attr.graphs()) if (!WithinLimits(g, limits, nodes)) return false;
    }
  }
  return true;
}

}  // namespace pq::fuzz
