// The size check the model-running fuzz targets (executor, model_mutator)
// apply before they load a model: one walk over a graph and its subgraphs,
// with each target's own rules for shapes, tensors and attributes.
#ifndef PQ_TESTS_FUZZ_GRAPH_LIMITS_H_
#define PQ_TESTS_FUZZ_GRAPH_LIMITS_H_

#include <functional>

#include "onnx/onnx_pb.h"

namespace pq::fuzz {

struct GraphLimits {
  int max_nodes = 0;  // counting the nodes of subgraphs
  // Each returns false for a value the target does not want to run.
  std::function<bool(const onnx::ValueInfoProto&)> shape_ok;  // inputs, outputs, value_info
  std::function<bool(const onnx::TensorProto&)> tensor_ok;    // initializers, tensor attributes
  // Optional: a further check of each attribute of each node.
  std::function<bool(const onnx::NodeProto&, const onnx::AttributeProto&)> attribute_ok;
};

// True when `graph` and every subgraph pass `limits` and hold no sparse
// tensors. Adds the graphs' node counts to `*nodes` (start it at 0).
bool WithinLimits(const onnx::GraphProto& graph, const GraphLimits& limits, int* nodes);

}  // namespace pq::fuzz

#endif  // PQ_TESTS_FUZZ_GRAPH_LIMITS_H_
