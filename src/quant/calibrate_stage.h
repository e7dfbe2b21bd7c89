// The Calibrate stage: activation statistics for the tensors a plan
// quantizes, either handed in by the caller (QuantizeOptions::
// activation_stats, when they cover those tensors and were made with the
// same calibration options) or measured by running the prepared FP32 model
// over the calibration data.
#ifndef PQ_QUANT_CALIBRATE_STAGE_H_
#define PQ_QUANT_CALIBRATE_STAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pq/activation_stats.h"
#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

// The calibration options for `scheme`: options.calibration with the grid
// of the scheme's activations.
CalibrationOptions CalibrationFor(const QuantizeOptions& options, const Scheme& scheme);

// The calibration data and an executor of `prepared`, opened in that order so
// that data which does not fit the model's inputs fails before the executor
// copies the weights. Shared by the stages that run the model over --calib.
struct CalibrationRun {
  std::unique_ptr<Dataset> data;
  std::unique_ptr<Executor> executor;
};
Result<CalibrationRun> OpenCalibrationRun(const Model& prepared, const QuantizeOptions& options);

// REQUIRES: `tensors` not empty. Errors: the dataset's (data that does not
// fit the model's inputs, checked before the executor copies the weights),
// the executor's and calibration's.
// With options.calibration_statistics the model is not run: the ranges are
// chosen from the statistics. Errors then (kInvalidInput): statistics of a
// model prepared otherwise than `preparation` says, or without a tensor of
// `tensors` (naming it), and RangeFromStatistics'.
Result<ActivationStats> CalibrateActivations(const Model& prepared, const std::vector<std::string>& preparation,
                                             const std::set<std::string>& tensors,
                                             const QuantizeOptions& options, const Scheme& scheme,
                                             const std::function<void(int64_t, int64_t)>& progress);

}  // namespace pq::quant

#endif  // PQ_QUANT_CALIBRATE_STAGE_H_
