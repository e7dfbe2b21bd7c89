// The SmoothQuant stage (--smoothquant ALPHA), right after Plan and before
// anything measures the model: for every group of planned MatMul/Gemm
// (transA = 0) weights that read the same quantized activation X, the
// prepared FP32 model is run over --calib for max|X_j| per input channel,
// s = SmoothQuantScales(max|X|, max|W| over the group, alpha) (smoothquant.h)
// and the model is rewritten with AWQ's fold (awq_fold.h, exact folds only):
// W <- diag(s) W and X <- X / s folded into what produces X. A group whose
// 1/s has no exact fold is left as it is and its records say why; so is a
// weight that another node reads too, or whose uses read different inputs.
// The caller plans the rewritten model again and calibrates it afterwards.
#ifndef PQ_QUANT_SMOOTHQUANT_STAGE_H_
#define PQ_QUANT_SMOOTHQUANT_STAGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/plan.h"

namespace pq::quant {

struct SmoothQuantOutcome {
  // The rewritten model; null when no group was scaled.
  std::unique_ptr<Model> model;
  // Every planned MatMul/Gemm weight, by tensor name.
  std::map<std::string, SmoothQuantRecord> records;
  // One line per group, for the report's transformations.
  std::vector<std::string> transformations;
};

// REQUIRES: options.smoothquant_alpha in [0, 1], options.calib_paths not
// empty. Errors: those of the calibration data and the executor; an
// activation observed NaN or never observed (kInvalidInput, naming it);
// those of ApplyInputScales.
Result<SmoothQuantOutcome> ApplySmoothQuant(const Model& prepared, const QuantPlan& plan,
                                            const QuantizeOptions& options,
                                            const std::function<void(int64_t, int64_t)>& progress);

}  // namespace pq::quant

#endif  // PQ_QUANT_SMOOTHQUANT_STAGE_H_
