#include "quant/calibrate_stage.h"

#include "pq/executor.h"

namespace pq::quant {

CalibrationOptions CalibrationFor(const QuantizeOptions& options, const Scheme& scheme) {
  CalibrationOptions calibration = options.calibration;
  calibration.grid.symmetric = scheme.ActivationSymmetric();
  calibration.grid.qmin = scheme.ActivationQmin();
  calibration.grid.qmax = scheme.ActivationQmax();
  return calibration;
}

Result<CalibrationRun> OpenCalibrationRun(const Model& prepared, const QuantizeOptions& options) {
  DatasetOptions data_options;
  data_options.outputs = Executor::GraphOutputs(prepared);
  data_options.tokens = options.calib_tokens;
  Result<std::unique_ptr<Dataset>> data =
      Dataset::Open(options.calib_paths, Executor::GraphInputs(prepared), data_options);
  if (!data.ok()) return data.status();
  ExecutorOptions exec_options;
  exec_options.threads = options.threads;
  Result<std::unique_ptr<Executor>> executor = Executor::Create(prepared, exec_options);
  if (!executor.ok()) return executor.status();
  return CalibrationRun{std::move(data).value(), std::move(executor).value()};
}

Result<ActivationStats> CalibrateActivations(const Model& prepared, const std::set<std::string>& tensors,
                                             const QuantizeOptions& options, const Scheme& scheme,
                                             const std::function<void(int64_t, int64_t)>& progress) {
  const CalibrationOptions calibration = CalibrationFor(options, scheme);
  if (options.activation_stats && options.activation_stats->Covers(tensors) &&
      options.activation_stats->MadeWith(calibration)) {
    return *options.activation_stats;
  }
  Result<CalibrationRun> run = OpenCalibrationRun(prepared, options);
  if (!run.ok()) return run.status();
  const Dataset& data = *run->data;
  Result<CalibrationResult> result = Calibrate(*run->executor, data, tensors, calibration,
                                               options.calib_batch, options.calib_samples, progress);
  if (!result.ok()) return result.status();
  ActivationStats stats;
  stats.ranges = std::move(result->ranges);
  stats.files = data.files();
  stats.samples = result->samples_used;
  stats.batch = result->batch;
  stats.calibration = calibration;
  return stats;
}

}  // namespace pq::quant
