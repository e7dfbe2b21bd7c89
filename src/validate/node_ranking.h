// Node ranking: which quantized nodes hurt the model output most, measured by
// quantizing each alone (every other candidate excluded) and comparing with
// a stored FP32 reference run. Shared by AnalyzeSensitivity and AutoFallback.
#ifndef PQ_SRC_VALIDATE_NODE_RANKING_H_
#define PQ_SRC_VALIDATE_NODE_RANKING_H_

#include <string>
#include <vector>

#include "pq/quantize.h"
#include "pq/validate.h"

namespace pq::validate {

// A node a quantization took (it reads a quantized weight).
struct QuantizedNode {
  std::string node;  // "#<index>" for unnamed nodes, as the records name them
  std::string op_type;
  bool named() const { return !node.empty() && node[0] != '#'; }
};

// The nodes whose weights `outcome` quantized, in record (graph) order.
std::vector<QuantizedNode> QuantizedNodes(const QuantizeOutcome& outcome);

// Quantize(fp32, options) with `extra` appended to options.exclude_nodes.
Result<QuantizeOutcome> QuantizeExcluding(const Model& fp32, QuantizeOptions options,
                                          const std::vector<std::string>& extra);

// The flip rate of the first classification output, 0 without one.
double FirstFlipRate(const Comparison& comparison);

// For each named node of `nodes`, quantizes the model with every other node
// of `nodes` excluded and compares it with `reference`. Returns the nodes
// most sensitive first (with language-model metrics highest mean KL
// divergence first; then lowest output SQNR, highest flip rate, graph order); activation_sqnr_db is left empty. `progress` gets stage "nodes".
Result<std::vector<NodeSensitivity>> RankSingleNodes(const Model& fp32,
                                                     const QuantizeOptions& options,
                                                     const std::vector<QuantizedNode>& nodes,
                                                     const ReferenceRun& reference,
                                                     const ProgressFn& progress);

}  // namespace pq::validate

#endif  // PQ_SRC_VALIDATE_NODE_RANKING_H_
