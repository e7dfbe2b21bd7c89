// Quantize: the stages in order, each handing a value to the next.
//   Prepare (prepare_stage.h) -> Plan (plan.h) -> [AWQ: Hessians
//   (hessian_stage.h), then the model rewritten with per-input scales
//   (awq_stage.h) and planned again] -> Calibrate (calibrate_stage.h),
//   static schemes -> Decide (decide.h; GPTQ's Hessians summed in segments
//   as it rounds, hessian_feed.h) -> Write (write_stage.h)
#include "pq/quantize.h"

#include <cmath>

#include "quant/awq_stage.h"
#include "quant/calibrate_stage.h"
#include "quant/decide.h"
#include "quant/hessian_feed.h"
#include "quant/hessian_stage.h"
#include "quant/plan.h"
#include "quant/prepare_stage.h"
#include "quant/scheme_set.h"
#include "quant/smoothquant_stage.h"
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

// Errors (kInvalidArgument, naming --smoothquant): ALPHA outside [0, 1], no
// --calib data, a scheme or --weights-only that leaves activations float, or
// --weight-algo awq (which scales the same inputs its own way).
Status CheckSmoothQuantOptions(const QuantizeOptions& options, bool static_mode) {
  if (!options.smoothquant_alpha) return Status::OK();
  const double alpha = *options.smoothquant_alpha;
  if (!(alpha >= 0 && alpha <= 1)) {
    return Status::InvalidArgument("--smoothquant ALPHA must be in [0, 1], got " + std::to_string(alpha));
  }
  if (!static_mode) {
    return Status::InvalidArgument("--smoothquant moves activation outliers into the weights so that activations "
                                   "quantize better; scheme " + options.scheme +
                                   (options.weights_only ? " with --weights-only" : "") +
                                   " leaves activations float (use a static int8 scheme without --weights-only)");
  }
  if (options.calib_paths.empty()) {
    return Status::InvalidArgument("--smoothquant needs calibration data to measure each MatMul input's "
                                   "per-channel max: pass --calib PATH (a .pqcal from --calib-stats does not hold it)");
  }
  if (options.weight_algo == "awq") {
    return Status::InvalidArgument("--smoothquant and --weight-algo awq both scale MatMul inputs per channel; "
                                   "choose one");
  }
  return Status::OK();
}

// With --smoothquant: rewrites `prepared`'s model, returns the records in
// `records` and the transformations in `outcome`; the plan is made again for
// the rewritten model. Without it: nothing.
Status SmoothQuantStage(const QuantizeOptions& options, bool static_mode, const quant::SchemeSet& schemes,
                        const std::function<void(int64_t, int64_t)>& progress, quant::PreparedModel* prepared,
                        quant::QuantPlan* plan, std::map<std::string, SmoothQuantRecord>* records,
                        QuantizeOutcome* outcome) {
  if (!options.smoothquant_alpha) return Status::OK();
  Result<quant::SmoothQuantOutcome> smooth = quant::ApplySmoothQuant(*prepared->model, *plan, options, progress);
  if (!smooth.ok()) return smooth.status();
  *records = std::move(smooth->records);
  outcome->transformations.insert(outcome->transformations.end(), smooth->transformations.begin(),
                                  smooth->transformations.end());
  if (smooth->model == nullptr) return Status::OK();
  prepared->model = std::move(smooth->model);
  *plan = quant::BuildPlan(*prepared->model, options, static_mode, outcome->per_channel, schemes);
  return Status::OK();
}

// Gives each weight record its SmoothQuant record.
void AttachSmoothQuantRecords(const std::map<std::string, SmoothQuantRecord>& records,
                              std::vector<QuantizedTensorRecord>* tensors) {
  for (QuantizedTensorRecord& r : *tensors) {
    if (r.role == TensorRole::kWeight && records.count(r.name) != 0) r.smoothquant = records.at(r.name);
  }
}

// The Calibrate stage on `decided`. Statistics handed in are not reused after
// --smoothquant: they were measured without this run's scales.
Result<ActivationStats> CalibrateDecided(const Model& decided, const quant::PreparedModel& prepared,
                                         const quant::QuantPlan& plan, const QuantizeOptions& options,
                                         const quant::Scheme& scheme,
                                         const std::function<void(int64_t, int64_t)>& progress) {
  if (!options.smoothquant_alpha || !options.activation_stats) {
    return quant::CalibrateActivations(decided, prepared.transformations, plan.calibrate, options, scheme, progress);
  }
  QuantizeOptions fresh = options;
  fresh.activation_stats.reset();
  return quant::CalibrateActivations(decided, prepared.transformations, plan.calibrate, fresh, scheme, progress);
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
  PQ_RETURN_IF_ERROR(CheckSmoothQuantOptions(options, static_mode));
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
  outcome.transformations = prepared->transformations;
  std::map<std::string, SmoothQuantRecord> smoothquant;
  PQ_RETURN_IF_ERROR(SmoothQuantStage(options, static_mode, schemes.value(), progress, &prepared.value(), &plan,
                                      &smoothquant, &outcome));
  const Model& ready = *prepared->model;
  outcome.warnings.insert(outcome.warnings.end(), prepared->warnings.begin(), prepared->warnings.end());
  outcome.skipped = plan.skipped;
  outcome.nodes_quantized = static_cast<int64_t>(plan.nodes.size()) + plan.table_gathers;

  // AWQ needs every X^T X before it rewrites the model: one pass over the
  // data. GPTQ sums them in segments while Decide rounds (hessian_feed.h).
  std::unique_ptr<quant::HessianFeed> hessians;
  std::unique_ptr<Model> scaled;
  std::map<std::string, WeightRoundingRecord> planned_rounding;
  if (rounding.value()->ScalesInputs()) {
    Result<quant::LayerHessians> collected = quant::CollectHessians(ready, plan, options, progress);
    if (!collected.ok()) return collected.status();
    outcome.rounding_data = {collected->files, collected->samples, collected->batch};
    // The weights scaled and 1/s folded in a rewritten model, planned again
    // (an inserted Mul shifts the node indices).
    Result<quant::AwqOutcome> awq = quant::ApplyAwq(ready, plan, std::move(collected).value(), options.threads);
    if (!awq.ok()) return awq.status().WithPrefix(model.origin());
    planned_rounding = std::move(awq->records);
    scaled = std::move(awq->model);
    outcome.transformations.insert(outcome.transformations.end(), awq->transformations.begin(),
                                   awq->transformations.end());
    if (scaled != nullptr) {
      plan = quant::BuildPlan(*scaled, options, static_mode, outcome.per_channel, schemes.value());
      outcome.skipped = plan.skipped;
    }
    hessians = quant::HeldHessianFeed(std::move(awq->hessians), plan.constants.size());
  }
  const Model& decided = scaled != nullptr ? *scaled : ready;
  // Activations are calibrated on the model that is written: after AWQ, its
  // scaled inputs have other ranges.
  if (static_mode && !plan.calibrate.empty()) {
    Result<ActivationStats> stats = CalibrateDecided(decided, prepared.value(), plan, options, *schemes->main, progress);
    if (!stats.ok()) return stats.status();
    outcome.activation_stats = std::move(stats).value();
  }
  if (rounding.value()->NeedsCalibrationData() && hessians == nullptr) {
    Result<std::unique_ptr<quant::SegmentedHessians>> segmented =
        quant::SegmentedHessians::Open(ready, plan, options, options.hessian_budget_bytes, progress);
    if (!segmented.ok()) return segmented.status();
    const quant::LayerHessians& data = segmented.value()->data();
    outcome.rounding_data = {data.files, data.samples, data.batch};
    hessians = std::move(segmented).value();
  }
  Result<quant::Decisions> decisions =
      quant::Decide(decided, plan, outcome.activation_stats, hessians.get(), schemes.value(), *rounding.value(),
                    options, model.origin(), &planned_rounding);
  if (!decisions.ok()) return decisions.status();
  hessians = nullptr;  // K x K per input: not kept while writing
  outcome.warnings.insert(outcome.warnings.end(), decisions->warnings.begin(), decisions->warnings.end());
  Result<std::unique_ptr<Model>> written =
      quant::WriteDecisions(decided, std::move(decisions).value(), model.origin(), &outcome.tensors);
  if (!written.ok()) return written.status();
  outcome.model = std::move(written).value();
  AttachSmoothQuantRecords(smoothquant, &outcome.tensors);
  outcome.scheme_config = quant::SchemeReportConfig(schemes.value(), options, outcome.double_quant_applied);
  return outcome;
}

}  // namespace pq
