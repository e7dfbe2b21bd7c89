// The Hessian stage, between Plan and Decide when the weight-rounding
// algorithm uses calibration data (WeightRounding::NeedsCalibrationData):
// runs the prepared FP32 model over --calib data with a HessianCollector
// and returns X^T X of every activation that a planned weight's MatMul/Gemm
// reads when the weight is rounded on a grid (GridOf), shared by all the nodes that read the same activation.
// The inputs are those of the FP32 model (every layer sees FP32 inputs; the
// "sequential" variant that feeds each layer the outputs of the layers
// already quantized is not done).
#ifndef PQ_QUANT_HESSIAN_STAGE_H_
#define PQ_QUANT_HESSIAN_STAGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pq/dataset.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/hessian_collector.h"
#include "quant/plan.h"

namespace pq::quant {

struct LayerHessians {
  std::map<HessianInput, InputHessian> by_input;
  // Where the data came from and how much of it was used.
  std::vector<DatasetFile> files;
  int64_t samples = 0;
  int64_t batch = 0;
};

// The grid that GPTQ and AWQ round planned weight `c` on: its scheme's
// (Scheme::Grid) for how the weight is stored, when every use of `c` is a
// MatMul/Gemm reading it as its 2-D weight (input 1) in one layout; else null
// with `reason`. Embedding tables have none.
std::shared_ptr<const WeightGrid> GridOf(const Model& prepared, const PlannedConstant& c, std::string* reason);

// The activations whose X^T X planned weight `c` is rounded with: the data
// inputs of its uses that are not constants, once each, when it has a grid
// (GridOf); else none.
std::vector<HessianInput> HessianInputsOfConstant(const Model& prepared, const PlannedConstant& c);

// The activations whose X^T X `plan`'s weights with a grid need (constants
// read as the data input are left out: they have no rows to observe).
std::vector<HessianInput> HessianInputsOf(const Model& prepared, const QuantPlan& plan);

// Runs `prepared` over options.calib_paths (opened as the Calibrate stage
// opens them, token data included) in batches of options.calib_batch, the
// first options.calib_samples samples (0 = all). Returns empty hessians when
// the plan needs none. Errors: the dataset's (data that does not fit the
// model's inputs, checked before the executor copies the weights), the
// executor's and the collector's.
Result<LayerHessians> CollectHessians(const Model& prepared, const QuantPlan& plan,
                                      const QuantizeOptions& options,
                                      const std::function<void(int64_t, int64_t)>& progress);

// The Hessian of planned weight `c`: X^T X of the input of its one use, or
// the sum over its uses (a weight read by several nodes), in `storage`.
// Returns null and says why in `reason` when there is none (an input that is
// a constant). `inputs` receives the activations it sums.
const InputHessian* HessianOf(const Model& prepared, const PlannedConstant& c, const LayerHessians& hessians,
                              InputHessian* storage, std::vector<std::string>* inputs, std::string* reason);

}  // namespace pq::quant

#endif  // PQ_QUANT_HESSIAN_STAGE_H_
