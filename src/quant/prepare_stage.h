// The Prepare stage: the graph transformations a model needs before it can
// be planned and written for a scheme set, each checked, each recorded.
//   1. BatchNormalization folded into the Conv before it (unless
//      options.fold_batchnorm is false), as runtimes fold it.
//   2. An opset that can hold what the writers emit: per-axis
//      DequantizeLinear (13) for per-channel QDQ weights, QuantizeLinear (10)
//      for per-tensor ones and the standard-ops decode, 21 for blocked
//      DequantizeLinear, by pq's own opset upgrade (and, once the plan is
//      known, 19 when it writes float16/bfloat16 QDQ: NeedsHalfQdqOpset).
//      Every upgrade that
//      rewrote a node is checked by running both models on the first
//      batches of --calib when given, else on a generated sample (or, when
//      they cannot run, a warning says it was not verified).
#ifndef PQ_QUANT_PREPARE_STAGE_H_
#define PQ_QUANT_PREPARE_STAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/plan.h"
#include "quant/scheme_set.h"

namespace pq::quant {

struct PreparedModel {
  std::unique_ptr<Model> model;
  // False when per-channel weights were asked for but the model's opset
  // could not be raised to hold them (a warning says why).
  bool per_channel = true;
  std::vector<std::string> transformations;  // in the order applied
  std::vector<std::string> warnings;
};

// Errors: kNotSupported (an opset below 10 that cannot be upgraded, a model
// --int4-format onnx cannot bring to opset 21, naming why), the folding's
// errors, the calibration data's (read for the upgrade check) when it does
// not fit the model.
Result<PreparedModel> PrepareModel(const Model& model, const QuantizeOptions& options,
                                   const SchemeSet& schemes);

// Whether `plan` writes a QuantizeLinear or DequantizeLinear of a float16
// or bfloat16 value (a weight, bias or activation of that type) and `model`
// is below kHalfQdqOpset, from which those ops take such scales.
bool NeedsHalfQdqOpset(const Model& model, const QuantPlan& plan);

// Upgrades `prepared->model` to kHalfQdqOpset (checked and recorded as the
// other upgrades). The caller plans the upgraded model again: an upgrade
// may rewrite nodes. Errors (kNotSupported): the model cannot be upgraded,
// naming why.
Status PrepareHalfQdqOpset(const QuantizeOptions& options, PreparedModel* prepared);

}  // namespace pq::quant

#endif  // PQ_QUANT_PREPARE_STAGE_H_
