// CalibrateJob: what `pq calibrate` does, as library calls. RunCalibrateJob
// runs one shard of the calibration data through the model, prepared as
// quantization prepares it, and writes the raw activation statistics of
// every float tensor as a .pqcal file bound to the model's and the data
// files' sha256 (see calibration_stats.h). RunMergeJob merges the files of
// several shards into one. Neither leaves a file behind on failure.
#ifndef PQ_CALIBRATE_JOB_H_
#define PQ_CALIBRATE_JOB_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pq/calibration_stats.h"
#include "pq/dataset.h"
#include "pq/status.h"

namespace pq {

struct CalibrateJob {
  std::string model_path;
  std::vector<std::string> calib_paths;
  std::string output_path;
  bool force = false;
  StatisticsRun run;
  TokenDataOptions tokens;
  // Must match the quantization's --no-fold-batchnorm: the prepared graphs
  // (and so the tensors) differ otherwise.
  bool fold_batchnorm = true;
  int threads = 0;
};

struct CalibrateJobResult {
  CalibrationStatistics stats;  // as written
};

// Errors: kInvalidArgument (no data, a bad shard, batch or bins),
// kOutputError (the output exists without `force`, is the model or a data
// file, or cannot be written), and the loader's, dataset's, executor's and
// GatherCalibrationStatistics' errors.
Result<CalibrateJobResult> RunCalibrateJob(const CalibrateJob& job,
                                           const std::function<void(int64_t, int64_t)>& progress);

// Reads `inputs` (.pqcal files), merges them and writes `output_path`.
// Errors: ReadCalibrationStatistics', MergeCalibrationStatistics' and
// WriteCalibrationStatistics' (kOutputError also when the output is one of
// the inputs).
Result<CalibrationStatistics> RunMergeJob(const std::vector<std::string>& inputs, const std::string& output_path,
                                          bool force);

}  // namespace pq

#endif  // PQ_CALIBRATE_JOB_H_
