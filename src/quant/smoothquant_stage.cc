#include "quant/smoothquant_stage.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "onnx/onnx_pb.h"
#include "quant/awq_fold.h"
#include "quant/calibrate_stage.h"
#include "quant/channel_max_collector.h"
#include "quant/float_type.h"
#include "quant/matmul_replace.h"
#include "quant/smoothquant.h"
#include "util/json_number.h"

namespace pq::quant {
namespace {

// The weights that read one activation, with the max |W| per input channel.
struct Group {
  std::string input;
  int64_t k = 0;
  std::vector<std::string> weights;
  std::vector<int> nodes;
  std::vector<float> weight_max;
};

std::string NodeText(const onnx::GraphProto& graph, int i) {
  const onnx::NodeProto& node = graph.node(i);
  return node.op_type() + " '" + (node.name().empty() ? "#" + std::to_string(i) : node.name()) + "'";
}

// Adds planned weight `c` to its group when SmoothQuant can scale it;
// otherwise returns why not. Returns "-" for weights that are no
// MatMul/Gemm's (Conv, tables): they get no record.
std::string AddCandidate(const Model& model, const PlannedConstant& c, const std::set<std::string>& quantized,
                         std::vector<Group>* groups) {
  const onnx::GraphProto& graph = model.proto().graph();
  if (c.role != TensorRole::kWeight || c.scheme == nullptr || c.table || c.uses.empty()) return "-";
  const std::string first = graph.node(c.uses.front().first).op_type();
  if (first != "MatMul" && first != "Gemm") return "-";
  std::string input;
  std::set<int> uses;
  for (const Use& use : c.uses) {
    const onnx::NodeProto& node = graph.node(use.first);
    if ((node.op_type() != "MatMul" && node.op_type() != "Gemm") || use.second != 1 ||
        (node.op_type() == "Gemm" && AttrInt(node, "transA", 0) != 0)) {
      return "smoothquant scales the weights of MatMul and Gemm (transA = 0); " + NodeText(graph, use.first) +
             " reads it otherwise";
    }
    if (quantized.count(node.input(0)) == 0) {
      return "the input '" + node.input(0) + "' of " + NodeText(graph, use.first) + " is not quantized";
    }
    if (!input.empty() && input != node.input(0)) {
      return "its uses read different inputs ('" + input + "', '" + node.input(0) + "'), which one scale cannot serve";
    }
    input = node.input(0);
    uses.insert(use.first);
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& in = graph.node(i).input();
    if (uses.count(i) == 0 && std::count(in.begin(), in.end(), c.tensor) != 0) {
      return NodeText(graph, i) + " reads it too, so it cannot be scaled in place";
    }
  }
  const ConstantTensor* w = model.FindConstant(c.tensor);
  const onnx::NodeProto& node = graph.node(c.uses.front().first);
  const bool k_first = !(node.op_type() == "Gemm" && AttrInt(node, "transB", 0) != 0);
  if (w == nullptr || w->dims.size() != 2 || !IsQuantizableFloat(w->data_type)) return "it is not a 2-D float constant";
  const int64_t k = w->dims[k_first ? 0 : 1];
  auto g = std::find_if(groups->begin(), groups->end(), [&](const Group& e) { return e.input == input; });
  if (g == groups->end()) {
    groups->push_back({input, k, {}, {}, std::vector<float>(static_cast<size_t>(k), 0.0f)});
    g = groups->end() - 1;
  }
  if (g->k != k) return "its input features (" + std::to_string(k) + ") differ from the other readers of '" + input + "'";
  AccumulateInputFeatureMax(ReadFloats(*w), k, k_first, &g->weight_max);
  g->weights.push_back(c.tensor);
  g->nodes.insert(g->nodes.end(), uses.begin(), uses.end());
  return "";
}

// Why 1/s of `g` has no exact fold (ApplyInputScales left it out).
std::string NoFoldReason(const Model& model, const Group& g) {
  const onnx::GraphProto& graph = model.proto().graph();
  const std::set<int> own(g.nodes.begin(), g.nodes.end());
  for (const auto& out : graph.output()) {
    if (out.name() == g.input) return "'" + g.input + "' is a graph output, which 1/s would change";
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (own.count(i) != 0 || node.op_type() == "Shape" || node.op_type() == "Size") continue;
    if (std::count(node.input().begin(), node.input().end(), g.input) != 0) {
      return "'" + g.input + "' is read by " + NodeText(graph, i) + " too, which 1/s would change";
    }
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    if (graph.node(i).output_size() > 0 && graph.node(i).output(0) == g.input) {
      return "no exact fold: '" + g.input + "' comes from " + NodeText(graph, i) +
             " (exact folds: LayerNormalization and the RMSNorm ops, a Mul or MatMul by a constant only it reads)";
    }
  }
  return "no exact fold: '" + g.input + "' is a graph input";
}

// Max |X_j| of every group's input over the calibration data.
Result<std::map<std::string, std::vector<float>>> MeasureInputs(const Model& prepared, const std::vector<Group>& groups,
                                                                const QuantizeOptions& options,
                                                                const std::function<void(int64_t, int64_t)>& progress) {
  std::map<std::string, int64_t> channels;
  for (const Group& g : groups) channels[g.input] = g.k;
  Result<CalibrationRun> run = OpenCalibrationRun(prepared, options);
  if (!run.ok()) return run.status();
  ChannelMaxCollector collector(channels);
  Result<CalibrationPass> pass = ObserveCalibrationRun(
      run.value(), options, &collector,
      [&collector]() -> Status { return collector.Missing().empty() ? Status::OK() : collector.Results().status(); },
      progress);
  if (!pass.ok()) return pass.status();
  Result<std::map<std::string, std::vector<float>>> max = collector.Results();
  if (!max.ok()) return max.status();
  for (const auto& [name, values] : max.value()) {
    for (float v : values) {
      if (!std::isfinite(v)) return Status::InvalidInput("MatMul input '" + name + "' is NaN or Inf on the calibration data");
    }
  }
  return max;
}

}  // namespace

Result<SmoothQuantOutcome> ApplySmoothQuant(const Model& prepared, const QuantPlan& plan,
                                            const QuantizeOptions& options,
                                            const std::function<void(int64_t, int64_t)>& progress) {
  const double alpha = options.smoothquant_alpha.value_or(0.5);
  SmoothQuantOutcome out;
  std::set<std::string> quantized;
  for (const PlannedActivation& a : plan.activations) quantized.insert(a.tensor);
  std::vector<Group> groups;
  for (const PlannedConstant& c : plan.constants) {
    const std::string reason = AddCandidate(prepared, c, quantized, &groups);
    if (reason == "-") continue;
    SmoothQuantRecord& r = out.records[c.tensor];
    r.alpha = alpha;
    r.not_applied = reason;
  }
  if (groups.empty()) return out;
  Result<std::map<std::string, std::vector<float>>> act_max = MeasureInputs(prepared, groups, options, progress);
  if (!act_max.ok()) return act_max.status();

  std::vector<InputScaling> scalings;
  for (Group& g : groups) {
    std::sort(g.nodes.begin(), g.nodes.end());
    g.nodes.erase(std::unique(g.nodes.begin(), g.nodes.end()), g.nodes.end());
    scalings.push_back({g.input, g.nodes, SmoothQuantScales(act_max->at(g.input), g.weight_max, alpha)});
  }
  Result<ScaledModel> scaled = ApplyInputScales(prepared, scalings, /*exact_only=*/true);
  if (!scaled.ok()) return scaled.status();
  bool any = false;
  for (size_t i = 0; i < groups.size(); ++i) {
    const ScaleFold& fold = scaled->folds[i];
    const auto [lo, hi] = std::minmax_element(scalings[i].scales.begin(), scalings[i].scales.end());
    std::string list;
    for (const std::string& name : groups[i].weights) {
      SmoothQuantRecord& r = out.records[name];
      r.input = groups[i].input;
      r.scaled_with = groups[i].weights;
      if (fold.applied) {
        r.folded_into = fold.folded_into;
        r.scale_min = lo == scalings[i].scales.end() ? 1.0 : *lo;
        r.scale_max = hi == scalings[i].scales.end() ? 1.0 : *hi;
      } else {
        r.not_applied = NoFoldReason(prepared, groups[i]);
      }
      list += (list.empty() ? "'" : ", '") + name + "'";
    }
    any = any || fold.applied;
    if (fold.applied) {
      out.transformations.push_back("smoothquant: weights " + list + " scaled per input channel of '" +
                                    groups[i].input + "' (alpha " + MessageNumber(alpha) + ", s up to " +
                                    MessageNumber(out.records[groups[i].weights.front()].scale_max) +
                                    "), 1/s folded into " + fold.folded_into);
    }
  }
  if (any) out.model = std::move(scaled->model);
  return out;
}

}  // namespace pq::quant
