#include "validate/node_ranking.h"

#include <algorithm>
#include <set>

namespace pq::validate {

std::vector<QuantizedNode> QuantizedNodes(const QuantizeOutcome& outcome) {
  std::vector<QuantizedNode> nodes;
  std::set<std::string> seen;
  for (const QuantizedTensorRecord& r : outcome.tensors) {
    if (r.role != TensorRole::kWeight) continue;
    for (const ConsumerRef& c : r.consumers) {
      if (seen.insert(c.node).second) nodes.push_back({c.node, c.op_type});
    }
  }
  return nodes;
}

Result<QuantizeOutcome> QuantizeExcluding(const Model& fp32, QuantizeOptions options,
                                          const std::vector<std::string>& extra) {
  options.exclude_nodes.insert(options.exclude_nodes.end(), extra.begin(), extra.end());
  return Quantize(fp32, options, {});
}

double FirstFlipRate(const Comparison& comparison) {
  for (const OutputComparison& o : comparison.outputs) {
    if (o.classification) return o.classification->flip_rate;
  }
  return 0;
}

Result<std::vector<NodeSensitivity>> RankSingleNodes(const Model& fp32,
                                                     const QuantizeOptions& options,
                                                     const std::vector<QuantizedNode>& nodes,
                                                     const ReferenceRun& reference,
                                                     const ProgressFn& progress) {
  std::vector<QuantizedNode> named;
  for (const QuantizedNode& n : nodes) {
    if (n.named()) named.push_back(n);
  }
  std::vector<NodeSensitivity> out;
  for (size_t i = 0; i < named.size(); ++i) {
    std::vector<std::string> others;
    for (const QuantizedNode& n : named) {
      if (n.node != named[i].node) others.push_back(n.node);
    }
    Result<QuantizeOutcome> single = QuantizeExcluding(fp32, options, others);
    if (!single.ok()) return single.status().WithPrefix("quantizing only node '" + named[i].node + "'");
    Result<Comparison> c = reference.Compare(*single->model);
    if (!c.ok()) return c.status();
    NodeSensitivity s;
    s.node = named[i].node;
    s.op_type = named[i].op_type;
    s.output_sqnr_db = MinOutputSqnr(c.value());
    s.flip_rate = FirstFlipRate(c.value());
    if (c->lm) s.kld_mean = c->lm->kld_mean;
    out.push_back(std::move(s));
    if (progress) progress("nodes", static_cast<int64_t>(i + 1), static_cast<int64_t>(named.size()));
  }
  // Stable: graph order breaks remaining ties.
  std::stable_sort(out.begin(), out.end(), [](const NodeSensitivity& a, const NodeSensitivity& b) {
    if (a.kld_mean && b.kld_mean && *a.kld_mean != *b.kld_mean) return *a.kld_mean > *b.kld_mean;
    if (a.output_sqnr_db != b.output_sqnr_db) return a.output_sqnr_db < b.output_sqnr_db;
    return a.flip_rate > b.flip_rate;
  });
  return out;
}

}  // namespace pq::validate
