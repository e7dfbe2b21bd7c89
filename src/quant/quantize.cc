// Quantize: the stages in order, each handing a value to the next.
//   Prepare (prepare_stage.h) -> Bodies (body_stage.h: weights inside
//   If/Loop/Scan bodies, and in a static scheme the activations
//   body_calibration.h calibrated there, written in place) -> Plan (plan.h) -> [AWQ:
//   Hessians (hessian_stage.h), then the model rewritten with per-input
//   scales (awq_stage.h) and planned again] -> Calibrate (calibrate_stage.h),
//   static schemes -> Decide (decide.h; GPTQ's Hessians summed in segments
//   as it rounds, hessian_feed.h) -> [bias correction
//   (bias_correction_stage.h): the biases corrected for the decided weights,
//   then Decide again] -> Write (write_stage.h). --equalize
//   (equalize_stage.h) and the zero biases --bias-correction adds rewrite the
//   prepared model right after Plan, which is then made again.
#include "pq/quantize.h"

#include <cmath>
#include <set>

#include "quant/awq_stage.h"
#include "quant/bias_correction_stage.h"
#include "quant/body_stage.h"
#include "quant/calibrate_stage.h"
#include "quant/shared_constants.h"
#include "quant/decide.h"
#include "quant/equalize_stage.h"
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

// Errors (kInvalidArgument, naming --bias-correction): no --calib data (a
// .pqcal holds ranges, not the layer inputs' means); a weight rounding that
// reads calibration data (GPTQ, AWQ: their Hessians are handed to Decide
// once, and bias correction decides twice). --equalize needs no data: its
// check runs on a generated sample without --calib.
Status CheckBiasCorrectionOptions(const QuantizeOptions& options, const quant::WeightRounding& rounding) {
  if (!options.bias_correction) return Status::OK();
  if (rounding.NeedsCalibrationData()) {
    return Status::InvalidArgument("--bias-correction cannot be combined with --weight-algo " + options.weight_algo +
                                   " yet: use --weight-algo rtn with it");
  }
  if (!options.calib_paths.empty()) return Status::OK();
  return Status::InvalidArgument("--bias-correction needs calibration data to measure each layer's mean input: "
                                 "pass --calib PATH (a .pqcal from --calib-stats does not hold it)");
}

// With --equalize: the Conv pairs of `prepared`'s model equalized (when the
// check keeps them, the plan is made again), their records and
// transformations in `outcome`. Then, with --bias-correction, a zero bias
// for each quantized Conv/Gemm without one (`added`; planned again).
Status RewriteBeforeCalibration(const QuantizeOptions& options, bool static_mode, const quant::SchemeSet& schemes,
                                quant::PreparedModel* prepared, quant::QuantPlan* plan,
                                std::set<std::string>* added, QuantizeOutcome* outcome) {
  auto replan = [&]() {
    *plan = quant::BuildPlan(*prepared->model, options, static_mode, outcome->per_channel, schemes);
  };
  if (options.equalize) {
    Result<quant::EqualizeOutcome> eq = quant::EqualizeConvPairs(*prepared->model, options);
    if (!eq.ok()) return eq.status();
    outcome->equalization = std::move(eq->records);
    outcome->transformations.insert(outcome->transformations.end(), eq->transformations.begin(),
                                    eq->transformations.end());
    outcome->warnings.insert(outcome->warnings.end(), eq->warnings.begin(), eq->warnings.end());
    if (eq->model != nullptr) {
      prepared->model = std::move(eq->model);
      replan();
    }
  }
  if (!options.bias_correction) return Status::OK();
  Result<quant::AddedBiases> biases = quant::AddMissingBiases(*prepared->model, *plan);
  if (!biases.ok()) return biases.status();
  *added = std::move(biases->names);
  outcome->transformations.insert(outcome->transformations.end(), biases->transformations.begin(),
                                  biases->transformations.end());
  if (biases->model != nullptr) {
    prepared->model = std::move(biases->model);
    replan();
  }
  return Status::OK();
}

// With --bias-correction: the biases of `decided` corrected for the decided
// weights into `corrected` (null when none changed), `decisions` made again
// on it by `decide`, the records in `records`.
Status BiasCorrectionStage(const Model& decided, const quant::QuantPlan& plan, const std::set<std::string>& added,
                           const std::function<Result<quant::Decisions>(const Model&)>& decide,
                           const QuantizeOptions& options, const std::function<void(int64_t, int64_t)>& progress,
                           quant::Decisions* decisions, std::unique_ptr<Model>* corrected,
                           std::map<std::string, BiasCorrectionRecord>* records) {
  if (!options.bias_correction) return Status::OK();
  Result<quant::BiasCorrectionOutcome> bc =
      quant::CorrectBiases(decided, plan, decisions->constants, added, options, progress);
  if (!bc.ok()) return bc.status();
  *records = std::move(bc->records);
  if (bc->model == nullptr) return Status::OK();
  *corrected = std::move(bc->model);
  Result<quant::Decisions> again = decide(**corrected);
  if (!again.ok()) return again.status();
  *decisions = std::move(again).value();
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

// Gives each weight record its SmoothQuant and bias-correction records.
void AttachWeightRecords(const std::map<std::string, SmoothQuantRecord>& smoothquant,
                         const std::map<std::string, BiasCorrectionRecord>& bias_correction,
                         std::vector<QuantizedTensorRecord>* tensors) {
  for (QuantizedTensorRecord& r : *tensors) {
    if (r.role != TensorRole::kWeight) continue;
    if (smoothquant.count(r.name) != 0) r.smoothquant = smoothquant.at(r.name);
    if (bias_correction.count(r.name) != 0) r.bias_correction = bias_correction.at(r.name);
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

// The Body stage on `prepared`, upgraded first to kHalfQdqOpset when its
// float16/bfloat16 body weights need it; prepared->model becomes the model
// with its bodies rewritten (unchanged when no body weight is quantized). In
// a static scheme with --calib data, the values the bodies' activations need
// are calibrated first (one pass over the data, bodies float), then the
// bodies quantized with those ranges.
Result<quant::BodyOutcome> BodyStage(const QuantizeOptions& options, bool static_mode, bool per_channel,
                                     const quant::SchemeSet& schemes,
                                     const std::function<void(int64_t, int64_t)>& progress,
                                     quant::PreparedModel* prepared) {
  Result<quant::BodyOutcome> bodies =
      quant::QuantizeBodies(*prepared->model, options, static_mode, per_channel, schemes, nullptr);
  if (bodies.ok() && bodies->needs_half_qdq_opset) {
    PQ_RETURN_IF_ERROR(quant::PrepareHalfQdqOpset(options, prepared));
    bodies = quant::QuantizeBodies(*prepared->model, options, static_mode, per_channel, schemes, nullptr);
  }
  const bool calibrated = !options.calib_paths.empty() || options.calibration_statistics != nullptr;
  if (bodies.ok() && static_mode && !bodies->calibrate.empty() && calibrated) {
    Result<quant::BodyRanges> ranges =
        options.calibration_statistics
            ? quant::BodyRangesFromStatistics(*options.calibration_statistics, prepared->transformations,
                                              bodies->calibrate, options, *schemes.main)
            : quant::CalibrateBodyValues(*prepared->model, bodies->calibrate, options, *schemes.main, progress);
    if (!ranges.ok()) return ranges.status();
    bodies = quant::QuantizeBodies(*prepared->model, options, static_mode, per_channel, schemes, &ranges.value());
  }
  if (bodies.ok() && bodies->model != nullptr) prepared->model = std::move(bodies->model);
  return bodies;
}

// Every check of `options` before any stage runs (kInvalidArgument): the
// rounding's, SmoothQuant's and bias correction's options, and the
// calibration sources a static scheme needs.
Status CheckQuantizeOptions(const QuantizeOptions& options, const quant::WeightRounding& rounding,
                            const quant::Scheme& main, bool static_mode) {
  PQ_RETURN_IF_ERROR(CheckRoundingOptions(rounding, main, options));
  PQ_RETURN_IF_ERROR(CheckSmoothQuantOptions(options, static_mode));
  PQ_RETURN_IF_ERROR(CheckBiasCorrectionOptions(options, rounding));
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
  const bool static_mode = !options.weights_only && schemes->main->QuantizesActivations();
  PQ_RETURN_IF_ERROR(CheckQuantizeOptions(options, *rounding.value(), *schemes->main, static_mode));
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
  Result<quant::BodyOutcome> bodies =
      BodyStage(options, static_mode, outcome.per_channel, schemes.value(), progress, &prepared.value());
  if (!bodies.ok()) return bodies.status();
  quant::QuantPlan plan =
      quant::BuildPlan(*prepared->model, options, static_mode, outcome.per_channel, schemes.value());
  // float16/bfloat16 scales need opset 19: upgraded, then planned again.
  if (quant::NeedsHalfQdqOpset(*prepared->model, plan)) {
    PQ_RETURN_IF_ERROR(quant::PrepareHalfQdqOpset(options, &prepared.value()));
    plan = quant::BuildPlan(*prepared->model, options, static_mode, outcome.per_channel, schemes.value());
  }
  outcome.transformations = prepared->transformations;
  std::set<std::string> added_biases;
  PQ_RETURN_IF_ERROR(RewriteBeforeCalibration(options, static_mode, schemes.value(), &prepared.value(), &plan,
                                              &added_biases, &outcome));
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
  // Decide runs twice with --bias-correction, which is refused with a
  // rounding that reads Hessians (CheckBiasCorrectionOptions): the feed
  // hands each segment out once.
  auto decide = [&](const Model& m) {
    return quant::Decide(m, plan, outcome.activation_stats, hessians.get(), schemes.value(), *rounding.value(),
                         options, model.origin(), &planned_rounding);
  };
  Result<quant::Decisions> decisions = decide(decided);
  if (!decisions.ok()) return decisions.status();
  std::unique_ptr<Model> corrected;
  std::map<std::string, BiasCorrectionRecord> bias_correction;
  PQ_RETURN_IF_ERROR(BiasCorrectionStage(decided, plan, added_biases, decide, options, progress, &decisions.value(),
                                         &corrected, &bias_correction));
  hessians = nullptr;  // K x K per input: not kept while writing
  outcome.warnings.insert(outcome.warnings.end(), decisions->warnings.begin(), decisions->warnings.end());
  std::map<std::string, std::string> shared;  // body copies now read from an enclosing graph
  Result<std::unique_ptr<Model>> written =
      quant::WriteDecisions(corrected != nullptr ? *corrected : decided, std::move(decisions).value(),
                            model.origin(), &outcome.tensors, &shared);
  if (!written.ok()) return written.status();
  outcome.model = std::move(written).value();
  AttachWeightRecords(smoothquant, bias_correction, &outcome.tensors);
  outcome.nodes_quantized += bodies->nodes_quantized;
  quant::RenameWritten(shared, &bodies->tensors);
  outcome.tensors.insert(outcome.tensors.end(), bodies->tensors.begin(), bodies->tensors.end());
  outcome.skipped.insert(outcome.skipped.end(), bodies->skipped.begin(), bodies->skipped.end());
  outcome.warnings.insert(outcome.warnings.end(), bodies->warnings.begin(), bodies->warnings.end());
  outcome.scheme_config = quant::SchemeReportConfig(schemes.value(), options, outcome.double_quant_applied);
  return outcome;
}

}  // namespace pq
