// The Decide stage: every number the quantized model holds, from the plan,
// the activation statistics and the schemes. Activation parameters come from
// their calibrated ranges (owners first, then the tensors sharing them);
// weights are rounded by the chosen WeightRounding on their scheme's grid;
// biases of statically quantized Conv/Gemm get int32 values with scale =
// input scale x weight scale. Each decision pairs the record the report shows
// with the rewrite the writer performs, so the two cannot drift apart.
#ifndef PQ_QUANT_DECIDE_H_
#define PQ_QUANT_DECIDE_H_

#include <map>
#include <string>
#include <vector>

#include "pq/activation_stats.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/hessian_feed.h"
#include "quant/hessian_stage.h"
#include "quant/plan.h"
#include "quant/qdq_writer.h"
#include "quant/scheme_set.h"
#include "quant/weight_rounding.h"

namespace pq::quant {

struct ConstantDecision {
  QuantizedTensorRecord record;  // names of what is written: filled by the Write stage
  ConstantRewrite rewrite;
};

struct ActivationDecision {
  QuantizedTensorRecord record;
  ActivationRewrite rewrite;
};

struct Decisions {
  std::vector<ConstantDecision> constants;      // plan order
  std::vector<ActivationDecision> activations;  // plan order, those with uses
  // A weight the rounding algorithm could not round, and why (it was
  // rounded to nearest instead).
  std::vector<std::string> warnings;
};

// REQUIRES: `stats` covers plan.calibrate; `hessians` (null when the
// rounding needs no calibration data) hands out, over its segments, what
// HessianInputsOf(prepared, plan) lists: Decide rounds each segment's ready
// constants before asking for the next, then the other constants in plan
// order. `origin` prefixes errors. `planned` (may be null): what a stage
// that rewrote the model recorded per weight, handed to the rounding
// (RoundingInputs::planned). The decisions are in plan order whatever the
// segments.
// Errors (kInvalidInput): NaN or Inf in a weight or bias, naming it; the
// feed's.
Result<Decisions> Decide(const Model& prepared, const QuantPlan& plan, const ActivationStats& stats,
                         HessianFeed* hessians, const SchemeSet& schemes, const WeightRounding& rounding,
                         const QuantizeOptions& options, const std::string& origin,
                         const std::map<std::string, WeightRoundingRecord>* planned = nullptr);

// The nodes behind `uses`, for the report (unnamed nodes as "#index").
std::vector<ConsumerRef> ConsumersOf(const Model& model, const std::vector<Use>& uses);

// Activation decisions for `plan`; `params` receives every planned
// activation's parameters (those without uses too), for the biases.
Result<std::vector<ActivationDecision>> DecideActivations(
    const Model& prepared, const QuantPlan& plan, const ActivationStats& stats, const Scheme& scheme,
    const std::string& scheme_name, std::map<std::string, QuantParams>* params);

}  // namespace pq::quant

#endif  // PQ_QUANT_DECIDE_H_
