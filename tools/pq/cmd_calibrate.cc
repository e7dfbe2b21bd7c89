// pq calibrate MODEL --calib PATH… -o STATS.pqcal [--shard I/N] [options]
// pq calibrate --merge A.pqcal B.pqcal… -o C.pqcal
// Maps flags to a CalibrateJob (or a merge), runs it and says what it wrote.
#include <iostream>
#include <memory>
#include <regex>

#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "progress_reporter.h"
#include "pq/calibrate_job.h"

namespace pq::cli {
namespace {

struct Options {
  CalibrateJob job;
  std::string shard = "1/1";
  std::vector<std::string> merge;
};

// Parses "I/N" (1 <= I <= N) into the job. Errors (kInvalidArgument).
Status ParseShard(const std::string& text, StatisticsRun* run) {
  static const std::regex kShard("([0-9]{1,9})/([0-9]{1,9})");
  std::smatch m;
  if (std::regex_match(text, m, kShard)) {
    run->shard_index = std::stoll(m[1]);
    run->shard_count = std::stoll(m[2]);
    if (run->shard_index >= 1 && run->shard_index <= run->shard_count) return Status::OK();
  }
  return Status::InvalidArgument("--shard " + text + ": expected I/N with 1 <= I <= N (shard I of N)");
}

void Print(const CalibrationStatistics& s, const std::string& path) {
  std::string shards;
  for (const StatisticsShard& p : s.shards) shards += (shards.empty() ? "" : ",") + std::to_string(p.index);
  std::cout << "statistics: " << path << "\n";
  std::cout << s.tensors.size() << " tensors, " << s.samples << " samples, shards " << shards << " of "
            << s.shard_count << (s.complete() ? " (complete)" : "") << "\n";
}

}  // namespace

std::function<int()> SetupCalibrate(CLI::App* sub) {
  auto o = std::make_shared<Options>();
  sub->add_option("MODEL", o->job.model_path, "FP32 ONNX model (not with --merge)");
  sub->add_option("-o,--output", o->job.output_path, "Where to write the statistics (.pqcal)")->required();
  sub->add_option("--calib", o->job.calib_paths,
                  "Calibration data, as for pq quantize --calib (repeatable)");
  sub->add_option("--shard", o->shard,
                  "Calibrate shard I of N: samples s with s % N == I - 1 (merge the N files with --merge)")
      ->capture_default_str();
  sub->add_option("--merge", o->merge, "Merge these .pqcal files (shards of one calibration) into -o")
      ->expected(2, CLI::detail::expected_max_vector_size);
  sub->add_option("--calib-batch", o->job.run.batch, "Calibration samples per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--calib-samples", o->job.run.samples_limit, "Use the first N calibration samples (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_flag("--no-fold-batchnorm", [o](int64_t) { o->job.fold_batchnorm = false; },
                "Keep BatchNormalization nodes (as pq quantize --no-fold-batchnorm will)");
  AddTokenDataOptions(sub, &o->job.tokens);
  sub->add_option("--threads", o->job.threads, "Threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  sub->add_flag("--force", o->job.force, "Overwrite an existing output");
  return [o]() -> int {
    if (!o->merge.empty()) {
      if (!o->job.model_path.empty() || !o->job.calib_paths.empty()) {
        return Fail(Status::InvalidArgument("--merge takes .pqcal files only: no MODEL or --calib"));
      }
      Result<CalibrationStatistics> merged = RunMergeJob(o->merge, o->job.output_path, o->job.force);
      if (!merged.ok()) return Fail(merged.status());
      Print(merged.value(), o->job.output_path);
      return kExitOk;
    }
    if (o->job.model_path.empty()) return Fail(Status::InvalidArgument("pq calibrate needs a MODEL (or --merge)"));
    const Status shard = ParseShard(o->shard, &o->job.run);
    if (!shard.ok()) return Fail(shard);
    const ProgressFn progress = MakeProgressReporter();
    Result<CalibrateJobResult> result = RunCalibrateJob(
        o->job, [progress](int64_t done, int64_t total) { progress("calibration", done, total); });
    if (!result.ok()) return Fail(result.status());
    Print(result->stats, o->job.output_path);
    return kExitOk;
  };
}

}  // namespace pq::cli
