// Applying per-input-feature scales to a model without changing what it
// computes (AWQ's rewrite, awq_search.h): the weights of the nodes that read
// an input x are multiplied by s along their input features, and x is
// divided by s where it is produced, exactly when that is possible:
//   - a Mul by a float constant (decomposed RMSNorm's weight multiply): the
//     constant divided by s along the last axis;
//   - LayerNormalization, SimplifiedLayerNormalization, RMSNormalization,
//     SkipLayerNormalization, SkipSimplifiedLayerNormalization: the scale
//     (gamma) and bias (beta) inputs divided by s; only output 0 changes (the
//     Skip* residual sum, output 3, does not depend on them);
//   - a MatMul by a 2-D float constant: that constant's output columns
//     divided by s;
// and only when x is read by the scaled nodes alone (not by another node, a
// subgraph or as a graph output; Shape and Size, which read its shape only,
// do not count) and the constant by the producer alone.
// Otherwise a Mul(x, 1/s) node (a [K] float constant) is inserted before the
// scaled nodes, which then read its output.
#ifndef PQ_QUANT_AWQ_FOLD_H_
#define PQ_QUANT_AWQ_FOLD_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"

namespace pq::quant {

// One input to scale: the float activation `input` ([..., K]), read as data
// input 0 by the main-graph nodes `nodes` (MatMul, or Gemm with transA = 0),
// each with a 2-D float constant weight (input 1) that no node outside
// `nodes` reads; `scales` holds K finite positive values.
struct InputScaling {
  std::string input;
  std::vector<int> nodes;
  std::vector<float> scales;
};

// Where 1/s of one scaling went.
struct ScaleFold {
  // "<op type> '<node name>'" of the producer it was folded into, or
  // "Mul inserted ('<node name>')".
  std::string folded_into;
  bool inserted = false;
  // The tensor the scaled nodes read now: `input`, or the inserted Mul's
  // output.
  std::string input;
  // False when `exact_only` left this scaling out (no exact fold): its
  // weights and input are as they were, and `folded_into` is "".
  bool applied = true;
};

struct ScaledModel {
  std::unique_ptr<Model> model;
  std::vector<ScaleFold> folds;  // one per scaling, in order
};

// The model with every scaling applied (node indices of `scalings` are
// `model`'s; inserted Mul nodes shift the later ones in the result). With
// `exact_only` no Mul is inserted: a scaling whose 1/s cannot be folded into
// its producer is not applied (its fold says so).
// REQUIRES: no two scalings share an input, a node or a weight.
// Errors (kInvalidArgument, naming the node or tensor): a scaling that breaks
// the contract above (a node that is not MatMul/Gemm(transA = 0) reading
// `input`, a weight that is not a 2-D float constant with K input features
// or that another node reads, a scale that is not finite and positive);
// those of Model::FromProto.
Result<ScaledModel> ApplyInputScales(const Model& model, const std::vector<InputScaling>& scalings,
                                     bool exact_only = false);

}  // namespace pq::quant

#endif  // PQ_QUANT_AWQ_FOLD_H_
