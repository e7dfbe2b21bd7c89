// Decide, activations: per-tensor parameters from each owner's calibrated
// range; tensors that share an owner's parameters take them as they are.
#include "onnx/onnx_pb.h"
#include "quant/decide.h"
#include "quant/float_type.h"

namespace pq::quant {

std::vector<ConsumerRef> ConsumersOf(const Model& model, const std::vector<Use>& uses) {
  const onnx::GraphProto& graph = model.proto().graph();
  std::vector<ConsumerRef> out;
  for (const Use& use : uses) {
    const onnx::NodeProto& node = graph.node(use.first);
    out.push_back({node.name().empty() ? "#" + std::to_string(use.first) : node.name(), node.op_type()});
  }
  return out;
}

Result<std::vector<ActivationDecision>> DecideActivations(
    const Model& prepared, const QuantPlan& plan, const ActivationStats& stats, const Scheme& scheme,
    const std::string& scheme_name, std::map<std::string, QuantParams>* params) {
  // Owners first (their ranges are calibrated), then the tensors sharing
  // their parameters, keeping the plan's order in the decisions.
  for (const PlannedActivation& a : plan.activations) {
    if (!a.shares_params_with.empty()) continue;
    auto range = stats.ranges.find(a.tensor);
    if (range == stats.ranges.end()) {
      return Status::Internal("activation '" + a.tensor + "' has no calibrated range");
    }
    QuantParams p = scheme.ActivationParams(range->second.chosen_min, range->second.chosen_max);
    // A float16/bfloat16 activation's scale is written in its type.
    if (a.float_type != kFloat) p.scale = RoundedTo(std::move(p.scale), a.float_type);
    (*params)[a.tensor] = std::move(p);
  }
  std::vector<ActivationDecision> decisions;
  for (const PlannedActivation& a : plan.activations) {
    QuantizedTensorRecord r;
    r.name = a.tensor;
    r.role = TensorRole::kActivation;
    r.from_dtype = a.float_type;
    r.consumers = ConsumersOf(prepared, a.uses);
    r.scheme = scheme_name;
    r.granularity = "per-tensor";
    if (a.shares_params_with.empty()) {
      r.params = params->at(a.tensor);
      r.range = stats.ranges.at(a.tensor);
    } else {
      r.params = params->at(a.shares_params_with);
      r.shares_params_with = a.shares_params_with;
    }
    (*params)[a.tensor] = r.params;
    if (a.uses.empty()) continue;
    ActivationRewrite rewrite{a.tensor, r.params, a.uses, a.float_type};
    decisions.push_back({std::move(r), std::move(rewrite)});
  }
  return decisions;
}

}  // namespace pq::quant
