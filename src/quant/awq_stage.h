// The AWQ stage, between Hessians and Decide when --weight-algo is awq: for
// every group of planned weights with a grid (GridOf: the 4-bit schemes',
// the int8 schemes' per-channel grid) that read the same activation, the
// scales s are searched (awq_search.h) on the FP32 model's X^T X and mean |x|
// of that input, and the model is rewritten with them (awq_fold.h): the
// weights hold W diag(s), and 1/s is folded into what produces the input or
// applied by an inserted Mul. Decide then rounds the scaled weights to nearest.
// A weight is left unscaled (and rounded to nearest, its record saying why)
// when a use of it is not MatMul/Gemm(transA = 0), its uses read different
// inputs, another node reads it (a tied embedding's Gather), or its input has
// no X^T X (a constant input).
#ifndef PQ_QUANT_AWQ_STAGE_H_
#define PQ_QUANT_AWQ_STAGE_H_

#include <map>
#include <memory>
#include <string>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/hessian_stage.h"
#include "quant/plan.h"

namespace pq::quant {

struct AwqOutcome {
  // The rewritten model; null when no group was scaled (alpha 0 everywhere,
  // or nothing to search): the prepared model is then used as it is.
  std::unique_ptr<Model> model;
  // X^T X and |x| sums of the rewritten model's layer inputs (each scaled
  // input's X^T X becomes diag(1/s) X^T X diag(1/s), under its new name when a
  // Mul was inserted).
  LayerHessians hessians;
  // The rounding record of every planned weight with a grid, by tensor name.
  std::map<std::string, WeightRoundingRecord> records;
  // One line per group scaled, for the report's transformations.
  std::vector<std::string> transformations;
};

// REQUIRES: `hessians` holds what HessianInputsOf(prepared, plan) lists.
// Errors: NaN or Inf in a planned weight (kInvalidInput, naming it); those of
// ApplyInputScales.
Result<AwqOutcome> ApplyAwq(const Model& prepared, const QuantPlan& plan, LayerHessians hessians, int threads);

}  // namespace pq::quant

#endif  // PQ_QUANT_AWQ_STAGE_H_
