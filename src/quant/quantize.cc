// Quantize: the stages in order, each handing a value to the next.
//   Prepare (prepare_stage.h) -> Plan (plan.h) -> [Hessians
//   (hessian_stage.h), when the weight rounding uses calibration data] ->
//   [AWQ (awq_stage.h): the model rewritten with per-input scales, then
//   planned again] -> Calibrate (calibrate_stage.h), static schemes ->
//   Decide (decide.h) -> Write (write_stage.h)
#include "pq/quantize.h"

#include <cmath>

#include "quant/awq_stage.h"
#include "quant/calibrate_stage.h"
#include "quant/decide.h"
#include "quant/hessian_stage.h"
#include "quant/plan.h"
#include "quant/prepare_stage.h"
#include "quant/scheme_set.h"
#include "quant/weight_rounding.h"
#include "quant/write_stage.h"

namespace pq {
namespace {

// Whether nf4 absmax is written double-quantized; else a warning why not.
bool DoubleQuantApplies(const quant::SchemeSet& schemes, const QuantizeOptions& options,
                        std::vector<std::string>* warnings) {
  if (!options.double_quant) return false;
  if (schemes.Writes(quant::WeightEncoding::kCodebookDecode)) return true;
  warnings->push_back(schemes.main->Encoding() == quant::WeightEncoding::kMatMulBnb4
                          ? "--double-quant applies to --nf4-format onnx: ONNX Runtime's MatMulBnb4 "
                            "reads float32 absmax, so the absmax values are stored unquantized"
                          : "--double-quant applies to nf4 (--nf4-format onnx) only; ignored for " +
                                options.scheme);
  return false;
}

// Errors (kInvalidArgument): a rounding algorithm that needs calibration
// data without --calib, or that does not take the main scheme; a negative
// or non-finite --gptq-damp.
Status CheckRoundingOptions(const quant::WeightRounding& rounding, const quant::Scheme& scheme,
                            const QuantizeOptions& options) {
  if (!(options.gptq_damp >= 0) || !std::isfinite(options.gptq_damp)) {
    return Status::InvalidArgument("--gptq-damp must be a finite number >= 0, got " +
                                   std::to_string(options.gptq_damp));
  }
  std::string reason;
  if (!rounding.TakesScheme(scheme, &reason)) return Status::InvalidArgument(reason);
  if (rounding.NeedsCalibrationData() && options.calib_paths.empty()) {
    return Status::InvalidArgument(std::string("--weight-algo ") + rounding.Name() +
                                   " needs calibration data to weigh each layer's error: pass --calib PATH "
                                   "(inputs of the model, or token ids for a decoder LLM)");
  }
  return Status::OK();
}

}  // namespace

const char* TensorRoleName(TensorRole role) {
  switch (role) {
    case TensorRole::kWeight: return "weight";
    case TensorRole::kBias: return "bias";
    case TensorRole::kActivation: return "activation";
  }
  return "?";
}

std::vector<std::pair<std::string, std::string>> Schemes() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const quant::SchemeEntry& entry : quant::SchemeTable()) {
    out.emplace_back(entry.name, entry.create({})->Summary());
  }
  return out;
}

std::vector<SchemeDescription> DescribeSchemes() {
  std::vector<SchemeDescription> out;
  for (const quant::SchemeEntry& entry : quant::SchemeTable()) {
    const std::unique_ptr<quant::Scheme> scheme = entry.create({});
    out.push_back({entry.name, scheme->Summary(), std::vector<std::string>(entry.options.begin(), entry.options.end()),
                   scheme->QuantizesActivations()});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> WeightRoundingAlgorithms() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const quant::WeightRoundingEntry& entry : quant::WeightRoundingTable()) {
    out.emplace_back(entry.name, entry.summary);
  }
  return out;
}

Result<QuantizeOutcome> Quantize(const Model& model, const QuantizeOptions& options,
                                 const std::function<void(int64_t, int64_t)>& progress) {
  Result<quant::SchemeSet> schemes = quant::MakeSchemeSet(options);
  if (!schemes.ok()) return schemes.status();
  quant::WeightRoundingOptions rounding_options;
  rounding_options.gptq_damp = options.gptq_damp;
  rounding_options.gptq_act_order = options.gptq_act_order;
  rounding_options.threads = options.threads;
  Result<std::unique_ptr<quant::WeightRounding>> rounding =
      quant::MakeWeightRounding(options.weight_algo, rounding_options);
  if (!rounding.ok()) return rounding.status();
  PQ_RETURN_IF_ERROR(CheckRoundingOptions(*rounding.value(), *schemes->main, options));
  const bool static_mode = !options.weights_only && schemes->main->QuantizesActivations();
  if (options.calibration_statistics && !options.calib_paths.empty()) {
    return Status::InvalidArgument("calibration statistics (--calib-stats) and calibration data (--calib) "
                                   "exclude each other: the statistics already hold what the data gives");
  }
  if (static_mode && options.calib_paths.empty() && !options.activation_stats &&
      !options.calibration_statistics) {
    return Status::InvalidArgument("scheme " + options.scheme +
                                   " quantizes activations and needs calibration data: pass "
                                   "--calib PATH (or --weights-only to quantize weights alone)");
  }
  QuantizeOutcome outcome;
  if (!rounding.value()->NeedsCalibrationData() &&
      (options.gptq_act_order || options.gptq_damp != kDefaultGptqDamp)) {
    outcome.warnings.push_back("--gptq-damp and --gptq-act-order apply to --weight-algo gptq; ignored for " +
                               options.weight_algo);
  }
  outcome.double_quant_applied = DoubleQuantApplies(schemes.value(), options, &outcome.warnings);
  outcome.warnings.insert(outcome.warnings.end(), schemes->ignored_options.begin(),
                          schemes->ignored_options.end());

  Result<quant::PreparedModel> prepared = quant::PrepareModel(model, options, schemes.value());
  if (!prepared.ok()) return prepared.status();
  outcome.per_channel = prepared->per_channel && options.per_channel;
  quant::QuantPlan plan =
      quant::BuildPlan(*prepared->model, options, static_mode, outcome.per_channel, schemes.value());
  // float16/bfloat16 scales need opset 19: upgraded, then planned again.
  if (quant::NeedsHalfQdqOpset(*prepared->model, plan)) {
    PQ_RETURN_IF_ERROR(quant::PrepareHalfQdqOpset(options, &prepared.value()));
    plan = quant::BuildPlan(*prepared->model, options, static_mode, outcome.per_channel, schemes.value());
  }
  const Model& ready = *prepared->model;
  outcome.transformations = prepared->transformations;
  outcome.warnings.insert(outcome.warnings.end(), prepared->warnings.begin(), prepared->warnings.end());
  outcome.skipped = plan.skipped;
  outcome.nodes_quantized = static_cast<int64_t>(plan.nodes.size()) + plan.table_gathers;

  quant::LayerHessians hessians;
  if (rounding.value()->NeedsCalibrationData()) {
    Result<quant::LayerHessians> collected = quant::CollectHessians(ready, plan, options, progress);
    if (!collected.ok()) return collected.status();
    hessians = std::move(collected).value();
    outcome.rounding_data = {hessians.files, hessians.samples, hessians.batch};
  }

  // AWQ: the weights scaled and 1/s folded in a rewritten model, planned again
  // (an inserted Mul shifts the node indices).
  std::unique_ptr<Model> scaled;
  std::map<std::string, WeightRoundingRecord> planned_rounding;
  if (rounding.value()->ScalesInputs()) {
    Result<quant::AwqOutcome> awq = quant::ApplyAwq(ready, plan, std::move(hessians), options.threads);
    if (!awq.ok()) return awq.status().WithPrefix(model.origin());
    hessians = std::move(awq->hessians);
    planned_rounding = std::move(awq->records);
    scaled = std::move(awq->model);
    outcome.transformations.insert(outcome.transformations.end(), awq->transformations.begin(),
                                   awq->transformations.end());
    if (scaled != nullptr) {
      plan = quant::BuildPlan(*scaled, options, static_mode, outcome.per_channel, schemes.value());
      outcome.skipped = plan.skipped;
    }
  }
  const Model& decided = scaled != nullptr ? *scaled : ready;
  // Activations are calibrated on the model that is written: after AWQ, its
  // scaled inputs have other ranges.
  if (static_mode && !plan.calibrate.empty()) {
    Result<ActivationStats> stats =
        quant::CalibrateActivations(decided, prepared->transformations, plan.calibrate, options,
                                    *schemes->main, progress);
    if (!stats.ok()) return stats.status();
    outcome.activation_stats = std::move(stats).value();
  }
  Result<quant::Decisions> decisions =
      quant::Decide(decided, plan, outcome.activation_stats, hessians, schemes.value(), *rounding.value(), options,
                    model.origin(), &planned_rounding);
  if (!decisions.ok()) return decisions.status();
  hessians = {};  // K x K per input: not kept while writing
  outcome.warnings.insert(outcome.warnings.end(), decisions->warnings.begin(), decisions->warnings.end());
  Result<std::unique_ptr<Model>> written =
      quant::WriteDecisions(decided, std::move(decisions).value(), model.origin(), &outcome.tensors);
  if (!written.ok()) return written.status();
  outcome.model = std::move(written).value();
  outcome.scheme_config = quant::SchemeReportConfig(schemes.value(), options, outcome.double_quant_applied);
  return outcome;
}

}  // namespace pq
