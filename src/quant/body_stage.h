// The Body stage: weights of weight ops inside If/Loop/Scan bodies, at any
// depth. Each body is lifted into a model of its own (its nodes, its
// initializers, and copies of the outer-scope constants it reads), planned
// weights-only with the same schemes, decided (round to nearest, whatever
// --weight-algo says: calibration does not observe bodies) and written
// by the main graph's writers, then put back in place. Runs before the main
// graph is planned, so a weight shared by the main graph and a body is
// quantized for each: the body keeps its own quantized copy.
//
// Values inside bodies are not calibrated: in a static scheme the weights
// of body nodes are quantized and their activations stay float, each listed
// in `skipped` with that reason.
#ifndef PQ_QUANT_BODY_STAGE_H_
#define PQ_QUANT_BODY_STAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
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
  // static scheme the activations of taken ones, left float.
  std::vector<SkippedRecord> skipped;
  int64_t nodes_quantized = 0;
  // E.g. that --weight-algo gptq/awq rounded body weights to nearest.
  std::vector<std::string> warnings;
  // Set (and nothing written) when a body's float16/bfloat16 weights need
  // DequantizeLinear with half scales and the model's opset is below
  // kHalfQdqOpset: upgrade, then run the stage again.
  bool needs_half_qdq_opset = false;
};

// The path naming a body in records: "<OpType> '<node name>'/<attribute>",
// or "<OpType> #<index>/<attribute>" for an unnamed node, joined by '/'
// from the main graph down (e.g. "If 'gate'/then_branch/Loop #0/body").
std::string BodyPath(const std::string& outer, const onnx::NodeProto& node, int index,
                     const std::string& attribute);

// Quantizes the body weights of `model` as `schemes` says (per output
// channel when `per_channel`). `static_mode`: the main graph's activations
// are quantized, so body activations are reported as left float.
// Errors: the writers' and Decide's (a NaN weight names its tensor and body),
// kInvalidInput when a rewritten body does not load.
Result<BodyOutcome> QuantizeBodies(const Model& model, const QuantizeOptions& options, bool static_mode,
                                   bool per_channel, const SchemeSet& schemes);

}  // namespace pq::quant

#endif  // PQ_QUANT_BODY_STAGE_H_
