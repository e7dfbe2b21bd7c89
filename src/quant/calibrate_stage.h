// The Calibrate stage: activation statistics for the tensors a plan
// quantizes, either handed in by the caller (QuantizeOptions::
// activation_stats, when they cover those tensors and were made with the
// same calibration options) or measured by running the prepared FP32 model
// over the calibration data.
#ifndef PQ_QUANT_CALIBRATE_STAGE_H_
#define PQ_QUANT_CALIBRATE_STAGE_H_

#include <cstdint>
#include <functional>
#include <map>
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

// The calibration data (options.calib_paths, with options.calib_tokens) read
// for `model`'s inputs. Errors: the dataset's (data that does not fit).
Result<std::unique_ptr<Dataset>> OpenCalibrationData(const Model& model, const QuantizeOptions& options);

// The inputs a check that runs two models compares them on: the first
// `max_batches` batches of --calib (read for `model`'s inputs, in batches of
// options.calib_batch, within options.calib_samples) when given, else none
// (the check then generates a sample). Errors: the dataset's (data that does
// not fit the model), so they surface before any work as calibration's would.
Result<std::vector<std::map<std::string, Tensor>>> FirstCalibrationBatches(const Model& model,
                                                                           const QuantizeOptions& options,
                                                                           int64_t max_batches);

// The calibration data and an executor of `prepared`, opened in that order so
// that data which does not fit the model's inputs fails before the executor
// copies the weights. Shared by the stages that run the model over --calib.
struct CalibrationRun {
  std::unique_ptr<Dataset> data;
  std::unique_ptr<Executor> executor;
};
Result<CalibrationRun> OpenCalibrationRun(const Model& prepared, const QuantizeOptions& options);

// How much of the calibration data a pass over it read.
struct CalibrationPass {
  std::vector<DatasetFile> files;
  int64_t samples = 0;
  int64_t batch = 0;
};

// Runs `run`'s executor over its data in batches of options.calib_batch, the
// first options.calib_samples samples (0 = all), `observer` seeing every
// tensor of every batch. `after_first_batch` (may be empty) is asked once,
// after the first batch, whether to go on: an observer that can tell then
// that a tensor will never come stops the pass early. Errors:
// kInvalidArgument (calib_batch < 1), the dataset's, the executor's and
// after_first_batch's.
Result<CalibrationPass> ObserveCalibrationRun(const CalibrationRun& run, const QuantizeOptions& options,
                                              Observer* observer, const std::function<Status()>& after_first_batch,
                                              const std::function<void(int64_t, int64_t)>& progress);

// The ranges `calibration` chooses from calibration statistics (a .pqcal)
// for those of `tensors` they hold; the others are left out (a value inside
// a body no sample ran has none). Errors (kInvalidInput): statistics of a
// model prepared otherwise than `preparation` says, and
// RangeFromStatistics' (naming the tensor).
Result<ActivationStats> RangesFromStatistics(const CalibrationStatistics& stats,
                                             const std::vector<std::string>& preparation,
                                             const std::set<std::string>& tensors,
                                             const CalibrationOptions& calibration);

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
