// The bias-correction stage (--bias-correction), in two steps around the
// first Decide:
//   1. AddMissingBiases, after Plan: a quantized Conv or Gemm (transA = 0)
//      whose weight is written as DequantizeLinear, without a bias, gets a
//      zero float32 one (exact: it adds 0), so that
//      its correction has somewhere to go; the caller plans again.
//   2. CorrectBiases, after Decide: for each quantized Conv (2-D), Gemm
//      (transA = 0, beta != 0) and MatMul whose output only an Add of a
//      constant [N] reads, the prepared FP32 model runs over --calib for
//      the layer input's mean (InputMeanCollector), and the bias (Conv's
//      input 2, Gemm's C, the Add's constant) becomes
//        b - (alpha / beta) (W_q - W) E[x]
//      with W_q what the decided DequantizeLinear gives back (alpha = beta
//      = 1 but for Gemm). The caller decides again on the corrected model
//      (static biases are quantized from the corrected values) and keeps
//      the activation statistics: they describe the FP32 model the
//      quantized one is meant to match.
// A weight that cannot be corrected keeps its bias, and its record says why.
#ifndef PQ_QUANT_BIAS_CORRECTION_STAGE_H_
#define PQ_QUANT_BIAS_CORRECTION_STAGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/decide.h"
#include "quant/plan.h"

namespace pq::quant {

struct AddedBiases {
  std::unique_ptr<Model> model;  // null when no bias was added
  std::set<std::string> names;   // the zero biases added
  std::vector<std::string> transformations;
};

// Errors: Model::FromProto's.
Result<AddedBiases> AddMissingBiases(const Model& model, const QuantPlan& plan);

struct BiasCorrectionOutcome {
  std::unique_ptr<Model> model;                         // null when no bias changed
  std::map<std::string, BiasCorrectionRecord> records;  // by weight, every planned Conv/MatMul/Gemm weight
};

// REQUIRES: options.calib_paths not empty; `decided` holds the decisions
// of `plan` on `model`; `added` the names AddMissingBiases added.
// Errors: the calibration data's and the executor's; a layer input that is
// never observed, not float32 or NaN/Inf (kInvalidInput, naming it).
Result<BiasCorrectionOutcome> CorrectBiases(const Model& model, const QuantPlan& plan,
                                            const std::vector<ConstantDecision>& decided,
                                            const std::set<std::string>& added, const QuantizeOptions& options,
                                            const std::function<void(int64_t, int64_t)>& progress);

}  // namespace pq::quant

#endif  // PQ_QUANT_BIAS_CORRECTION_STAGE_H_
