#include "quant/calibrate_stage.h"

#include <algorithm>

#include "pq/executor.h"

namespace pq::quant {

CalibrationOptions CalibrationFor(const QuantizeOptions& options, const Scheme& scheme) {
  CalibrationOptions calibration = options.calibration;
  calibration.grid.symmetric = scheme.ActivationSymmetric();
  calibration.grid.qmin = scheme.ActivationQmin();
  calibration.grid.qmax = scheme.ActivationQmax();
  return calibration;
}

Result<std::unique_ptr<Dataset>> OpenCalibrationData(const Model& model, const QuantizeOptions& options) {
  DatasetOptions data_options;
  data_options.outputs = Executor::GraphOutputs(model);
  data_options.tokens = options.calib_tokens;
  return Dataset::Open(options.calib_paths, Executor::GraphInputs(model), data_options);
}

Result<std::vector<std::map<std::string, Tensor>>> FirstCalibrationBatches(const Model& model,
                                                                           const QuantizeOptions& options,
                                                                           int64_t max_batches) {
  std::vector<std::map<std::string, Tensor>> feeds;
  if (options.calib_paths.empty() || options.calibration_statistics != nullptr) return feeds;
  Result<std::unique_ptr<Dataset>> data = OpenCalibrationData(model, options);
  if (!data.ok()) return data.status();
  const int64_t batch = std::max<int64_t>(1, options.calib_batch);
  int64_t available = data.value()->num_samples();
  if (options.calib_samples > 0) available = std::min(available, options.calib_samples);
  for (int64_t first = 0; first < available && static_cast<int64_t>(feeds.size()) < max_batches; first += batch) {
    Result<std::map<std::string, Tensor>> f = data.value()->Batch(first, std::min(batch, available - first));
    if (!f.ok()) return f.status();
    feeds.push_back(std::move(f).value());
  }
  return feeds;
}

Result<CalibrationRun> OpenCalibrationRun(const Model& prepared, const QuantizeOptions& options) {
  Result<std::unique_ptr<Dataset>> data = OpenCalibrationData(prepared, options);
  if (!data.ok()) return data.status();
  ExecutorOptions exec_options;
  exec_options.threads = options.threads;
  Result<std::unique_ptr<Executor>> executor = Executor::Create(prepared, exec_options);
  if (!executor.ok()) return executor.status();
  return CalibrationRun{std::move(data).value(), std::move(executor).value()};
}

namespace {

std::string Lines(const std::vector<std::string>& lines) {
  if (lines.empty()) return "none";
  std::string out;
  for (const std::string& line : lines) out += (out.empty() ? "" : "; ") + line;
  return out;
}

// The ranges `calibration` chooses from `stats` for `tensors`.
Result<ActivationStats> StatsFromFile(const CalibrationStatistics& stats, const std::vector<std::string>& preparation,
                                      const std::set<std::string>& tensors, const CalibrationOptions& calibration) {
  for (const std::string& name : tensors) {
    if (stats.tensors.count(name) == 0 && stats.preparation == preparation) {
      return Status::InvalidInput("'" + stats.source_path + "' has no statistics of tensor '" + name +
                                  "', which this quantization calibrates");
    }
  }
  return RangesFromStatistics(stats, preparation, tensors, calibration);
}

}  // namespace

Result<ActivationStats> RangesFromStatistics(const CalibrationStatistics& stats,
                                             const std::vector<std::string>& preparation,
                                             const std::set<std::string>& tensors,
                                             const CalibrationOptions& calibration) {
  const std::string source = "'" + stats.source_path + "'";
  if (stats.preparation != preparation) {
    return Status::InvalidInput(source + " was gathered on the model prepared as [" + Lines(stats.preparation) +
                                "], but this quantization prepares it as [" + Lines(preparation) +
                                "] (e.g. --no-fold-batchnorm or --granularity differ): calibrate again");
  }
  ActivationStats out;
  for (const std::string& name : tensors) {
    auto it = stats.tensors.find(name);
    if (it == stats.tensors.end()) continue;
    Result<CalibratedRange> range = RangeFromStatistics(it->second, calibration);
    if (!range.ok()) return range.status().WithPrefix(source + ": tensor '" + name + "'");
    out.ranges.emplace(name, std::move(range).value());
  }
  for (const StatisticsDataFile& f : stats.files) out.files.push_back(DatasetFile{f.path, f.samples, std::nullopt});
  out.samples = stats.samples;
  out.batch = stats.batch;
  out.calibration = calibration;
  out.statistics_file = ActivationStats::StatisticsFile{stats.source_path, stats.source_sha256, stats.shard_count,
                                                        stats.shards, stats.files};
  return out;
}

Result<CalibrationPass> ObserveCalibrationRun(const CalibrationRun& run, const QuantizeOptions& options,
                                              Observer* observer, const std::function<Status()>& after_first_batch,
                                              const std::function<void(int64_t, int64_t)>& progress) {
  if (options.calib_batch < 1) {
    return Status::InvalidArgument("calibration batch must be at least 1, got " +
                                   std::to_string(options.calib_batch));
  }
  const Dataset& data = *run.data;
  const int64_t total =
      options.calib_samples > 0 ? std::min(options.calib_samples, data.num_samples()) : data.num_samples();
  for (int64_t first = 0; first < total; first += options.calib_batch) {
    const int64_t count = std::min(options.calib_batch, total - first);
    Result<std::map<std::string, Tensor>> feeds = data.Batch(first, count);
    if (!feeds.ok()) return feeds.status();
    Result<std::vector<Tensor>> outputs = run.executor->Run(feeds.value(), observer);
    if (!outputs.ok()) return outputs.status();
    if (first == 0 && after_first_batch) PQ_RETURN_IF_ERROR(after_first_batch());
    if (progress) progress(first + count, total);
  }
  return CalibrationPass{data.files(), total, options.calib_batch};
}

Result<ActivationStats> CalibrateActivations(const Model& prepared, const std::vector<std::string>& preparation,
                                             const std::set<std::string>& tensors,
                                             const QuantizeOptions& options, const Scheme& scheme,
                                             const std::function<void(int64_t, int64_t)>& progress) {
  const CalibrationOptions calibration = CalibrationFor(options, scheme);
  if (options.calibration_statistics) {
    return StatsFromFile(*options.calibration_statistics, preparation, tensors, calibration);
  }
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
