// AnalyzeSensitivity: per-node sensitivity, activation SQNR with every node
// quantized, and a greedy --exclude-nodes suggestion.
#include <set>

#include "onnx/onnx_pb.h"
#include "pq/validate.h"
#include "util/json_number.h"
#include "validate/activation_sqnr.h"
#include "validate/node_ranking.h"

namespace pq {
namespace {

using validate::QuantizedNode;

// The first output of each named node of `model`'s main graph.
std::map<std::string, std::string> NodeOutputs(const Model& model) {
  std::map<std::string, std::string> out;
  for (const onnx::NodeProto& n : model.proto().graph().node()) {
    if (!n.name().empty() && n.output_size() > 0) out[n.name()] = n.output(0);
  }
  return out;
}

// Fills activation_sqnr_db of `nodes`: each node's output in `quantized`
// against the same tensor of the FP32 model prepared as Quantize prepares it
// (BatchNormalization folded, opset converted), so that tensor names match.
Status FillActivationSqnr(const Model& fp32, const QuantizeOptions& options, const Model& quantized,
                          const ReferenceRun& reference, std::vector<NodeSensitivity>* nodes) {
  QuantizeOptions none = options;
  none.op_types.clear();  // nothing is taken: the prepared FP32 model, no calibration
  Result<QuantizeOutcome> prepared = Quantize(fp32, none, {});
  if (!prepared.ok()) return prepared.status();
  const std::map<std::string, std::string> outputs = NodeOutputs(*prepared->model);
  std::set<std::string> tensors;
  for (const NodeSensitivity& n : *nodes) {
    auto it = outputs.find(n.node);
    if (it != outputs.end()) tensors.insert(it->second);
  }
  Result<std::map<std::string, double>> sqnr =
      validate::ActivationSqnr(*prepared->model, quantized, reference.dataset(),
                               reference.data().batch, reference.data().threads, tensors);
  if (!sqnr.ok()) return sqnr.status();
  for (NodeSensitivity& n : *nodes) {
    auto out = outputs.find(n.node);
    if (out == outputs.end()) continue;
    auto it = sqnr->find(out->second);
    if (it != sqnr->end()) n.activation_sqnr_db = it->second;
  }
  return Status::OK();
}

}  // namespace

Result<SensitivityReport> AnalyzeSensitivity(const Model& fp32, const ValidationData& data,
                                             const SensitivityOptions& options,
                                             const ProgressFn& progress) {
  Result<std::unique_ptr<ReferenceRun>> reference = ReferenceRun::Create(fp32, data, progress);
  if (!reference.ok()) return reference.status();
  const ReferenceRun& ref = *reference.value();
  SensitivityReport report;
  report.scheme = options.quantize.scheme;
  report.samples = ref.dataset().num_samples();

  // Calibrate once: every variant below reuses the all-nodes ranges.
  SensitivityOptions shared = options;
  Result<QuantizeOutcome> all = Quantize(fp32, shared.quantize, {});
  if (!all.ok()) return all.status();
  shared.quantize.activation_stats = all->activation_stats;
  Result<Comparison> all_cmp = ref.Compare(*all->model);
  if (!all_cmp.ok()) return all_cmp.status();
  report.all_quantized_sqnr_db = MinOutputSqnr(all_cmp.value());
  report.all_quantized_flip_rate = validate::FirstFlipRate(all_cmp.value());
  if (all_cmp->lm) report.all_quantized_kld_mean = all_cmp->lm->kld_mean;

  const std::vector<QuantizedNode> nodes = validate::QuantizedNodes(all.value());
  for (const QuantizedNode& n : nodes) {
    if (!n.named()) report.unnamed_nodes.push_back(n.node);
  }
  Result<std::vector<NodeSensitivity>> ranked =
      validate::RankSingleNodes(fp32, shared.quantize, nodes, ref, progress);
  if (!ranked.ok()) return ranked.status();
  report.nodes = std::move(ranked).value();
  PQ_RETURN_IF_ERROR(FillActivationSqnr(fp32, options.quantize, *all->model, ref, &report.nodes));

  report.target_sqnr_db = options.target_sqnr_db;
  if (!options.target_sqnr_db) return report;
  const double target = *options.target_sqnr_db;
  double current = report.all_quantized_sqnr_db;
  std::vector<std::string> excluded;
  for (size_t i = 0; current < target && i < report.nodes.size(); ++i) {
    excluded.push_back(report.nodes[i].node);
    Result<QuantizeOutcome> q = validate::QuantizeExcluding(fp32, shared.quantize, excluded);
    if (!q.ok()) return q.status();
    Result<Comparison> c = ref.Compare(*q->model);
    if (!c.ok()) return c.status();
    current = MinOutputSqnr(c.value());
    report.suggestion.push_back({excluded, current});
    if (progress) progress("suggestion", static_cast<int64_t>(i + 1), static_cast<int64_t>(report.nodes.size()));
  }
  report.suggested_exclude = excluded;
  report.target_reached = current >= target;
  return report;
}

nlohmann::ordered_json SensitivityToJson(const SensitivityReport& report) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["scheme"] = report.scheme;
  j["samples"] = report.samples;
  auto optional = [](const std::optional<double>& v) { return v ? JsonNumber(*v) : ordered_json(nullptr); };
  j["all_quantized"] = {{"sqnr_db", JsonNumber(report.all_quantized_sqnr_db)},
                        {"flip_rate", JsonNumber(report.all_quantized_flip_rate)},
                        {"kld_mean", optional(report.all_quantized_kld_mean)}};
  ordered_json nodes = ordered_json::array();
  for (size_t i = 0; i < report.nodes.size(); ++i) {
    const NodeSensitivity& n = report.nodes[i];
    nodes.push_back({{"rank", i + 1},
                     {"node", n.node},
                     {"op_type", n.op_type},
                     {"output_sqnr_db", JsonNumber(n.output_sqnr_db)},
                     {"flip_rate", JsonNumber(n.flip_rate)},
                     {"kld_mean", optional(n.kld_mean)},
                     {"activation_sqnr_db", optional(n.activation_sqnr_db)}});
  }
  j["nodes"] = std::move(nodes);
  j["unnamed_nodes"] = report.unnamed_nodes;
  ordered_json steps = ordered_json::array();
  for (const SuggestionStep& s : report.suggestion) {
    steps.push_back({{"excluded", s.excluded}, {"output_sqnr_db", JsonNumber(s.output_sqnr_db)}});
  }
  j["suggestion"] = {{"target_sqnr_db", report.target_sqnr_db ? JsonNumber(*report.target_sqnr_db)
                                                               : ordered_json(nullptr)},
                     {"steps", std::move(steps)},
                     {"exclude_nodes", report.suggested_exclude},
                     {"target_reached", report.target_reached}};
  return j;
}

}  // namespace pq
