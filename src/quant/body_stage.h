// The Body stage: weights of weight ops inside If/Loop/Scan bodies, at any
// depth, and in a static scheme the activations they read. Each body is
// lifted into a model of its own (its nodes, its initializers, and copies of
// the outer-scope constants it reads), planned with the same schemes,
// decided (round to nearest, whatever --weight-algo says: GPTQ's and AWQ's
// data are not gathered inside bodies) and written by the main graph's
// writers, then put back in place. Runs before the main graph is planned, so
// a weight shared by the main graph and a body is quantized for each: the
// body keeps its own quantized copy.
//
// Activations of a static scheme: a body whose every planned activation has
// a range in the BodyRanges given (body_calibration.h; values observed on
// the runs of the body, those it reads from the scopes around it included)
// gets activation QDQ like the main graph. A body without them (no sample ran it,
// e.g. an If branch never taken, or no ranges given) has its weights
// quantized and its activations left float, each listed in `skipped` with
// the reason.
#ifndef PQ_QUANT_BODY_STAGE_H_
#define PQ_QUANT_BODY_STAGE_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/body_calibration.h"
#include "quant/scheme_set.h"

namespace pq::quant {

struct BodyOutcome {
  // The model with its bodies rewritten; null when no body weight was
  // quantized (the model is then unchanged).
  std::unique_ptr<Model> model;
  // Records of the body weights, QuantizedTensorRecord::graph naming the
  // body; their consumers' node names are prefixed with that path.
  std::vector<QuantizedTensorRecord> tensors;
  // Weight ops of bodies not taken (with the planner's reason), and in a
  // static scheme the activations left float (with why).
  std::vector<SkippedRecord> skipped;
  // Static scheme: the scoped names (ScopedValueName) of the activations
  // the bodies' static plans need ranges of, for CalibrateBodyValues.
  std::set<std::string> calibrate;
  int64_t nodes_quantized = 0;
  // E.g. that --weight-algo gptq/awq rounded body weights to nearest.
  std::vector<std::string> warnings;
  // Set (and nothing written) when a body's float16/bfloat16 weights need
  // DequantizeLinear with half scales and the model's opset is below
  // kHalfQdqOpset: upgrade, then run the stage again.
  bool needs_half_qdq_opset = false;
};

// Quantizes the body weights of `model` as `schemes` says (per output
// channel when `per_channel`). `static_mode`: the main graph's activations
// are quantized; body activations are too where `ranges` (may be null)
// covers them. Errors: the writers' and Decide's (a NaN weight names its
// tensor and body), kInvalidInput when a rewritten body does not load.
Result<BodyOutcome> QuantizeBodies(const Model& model, const QuantizeOptions& options, bool static_mode,
                                   bool per_channel, const SchemeSet& schemes, const BodyRanges* ranges);

}  // namespace pq::quant

#endif  // PQ_QUANT_BODY_STAGE_H_
