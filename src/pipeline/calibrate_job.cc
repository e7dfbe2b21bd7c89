#include "pq/calibrate_job.h"

#include <memory>
#include <utility>

#include "pq/executor.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/version.h"
#include "quant/prepare_stage.h"
#include "quant/scheme_set.h"
#include "util/file_util.h"
#include "util/sha256.h"

namespace pq {
namespace {

// The model as every activation-quantizing scheme prepares it (BatchNorm
// folded unless told otherwise, an opset with per-axis DequantizeLinear).
Result<quant::PreparedModel> Prepare(const Model& model, const CalibrateJob& job) {
  QuantizeOptions options;
  options.scheme = "int8-sym";
  options.fold_batchnorm = job.fold_batchnorm;
  options.threads = job.threads;
  Result<quant::SchemeSet> schemes = quant::MakeSchemeSet(options);
  if (!schemes.ok()) return schemes.status();
  return quant::PrepareModel(model, options, schemes.value());
}

// The data files with their digests ("" for a folder).
Result<std::vector<StatisticsDataFile>> DataFiles(const Dataset& data) {
  std::vector<StatisticsDataFile> files;
  for (const DatasetFile& f : data.files()) {
    Result<std::string> sha = Sha256IfRegularFile(f.path);
    if (!sha.ok()) return sha.status();
    files.push_back(StatisticsDataFile{f.path, sha.value(), f.samples});
  }
  return files;
}

}  // namespace

Result<CalibrateJobResult> RunCalibrateJob(const CalibrateJob& job,
                                           const std::function<void(int64_t, int64_t)>& progress) {
  if (job.calib_paths.empty()) {
    return Status::InvalidArgument("pq calibrate needs calibration data: pass --calib PATH");
  }
  std::vector<std::string> inputs = {job.model_path};
  inputs.insert(inputs.end(), job.calib_paths.begin(), job.calib_paths.end());
  PQ_RETURN_IF_ERROR(CheckOutputPaths({job.output_path}, inputs, job.force));
  Result<std::unique_ptr<Model>> model = Model::Load(job.model_path);
  if (!model.ok()) return model.status();
  Result<std::string> model_sha = Sha256File(job.model_path);
  if (!model_sha.ok()) return model_sha.status();
  Result<quant::PreparedModel> prepared = Prepare(*model.value(), job);
  if (!prepared.ok()) return prepared.status();
  const Model& ready = *prepared->model;

  DatasetOptions data_options;
  data_options.outputs = Executor::GraphOutputs(ready);
  data_options.tokens = job.tokens;
  Result<std::unique_ptr<Dataset>> data = Dataset::Open(job.calib_paths, Executor::GraphInputs(ready), data_options);
  if (!data.ok()) return data.status();
  ExecutorOptions exec_options;
  exec_options.threads = job.threads;
  Result<std::unique_ptr<Executor>> executor = Executor::Create(ready, exec_options);
  if (!executor.ok()) return executor.status();

  Result<CalibrationStatistics> stats = GatherCalibrationStatistics(*executor.value(), *data.value(), job.run, progress);
  if (!stats.ok()) return stats.status();
  Result<std::vector<StatisticsDataFile>> files = DataFiles(*data.value());
  if (!files.ok()) return files.status();
  stats->pq_version = kVersion;
  stats->model_name = BaseName(job.model_path);
  stats->model_sha256 = model_sha.value();
  stats->preparation = prepared->transformations;
  stats->files = std::move(files).value();
  PQ_RETURN_IF_ERROR(WriteCalibrationStatistics(stats.value(), job.output_path, job.force));
  return CalibrateJobResult{std::move(stats).value()};
}

Result<CalibrationStatistics> RunMergeJob(const std::vector<std::string>& inputs, const std::string& output_path,
                                          bool force) {
  PQ_RETURN_IF_ERROR(CheckOutputPaths({output_path}, inputs, force));
  std::vector<CalibrationStatistics> parts;
  for (const std::string& path : inputs) {
    Result<CalibrationStatistics> part = ReadCalibrationStatistics(path);
    if (!part.ok()) return part.status();
    parts.push_back(std::move(part).value());
  }
  Result<CalibrationStatistics> merged = MergeCalibrationStatistics(parts);
  if (!merged.ok()) return merged.status();
  PQ_RETURN_IF_ERROR(WriteCalibrationStatistics(merged.value(), output_path, force));
  return merged;
}

}  // namespace pq
