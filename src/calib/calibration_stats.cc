// Merging CalibrationStatistics of shards, checking their model, and choosing
// a method's range from them.
//
// Exactness: a shard's statistics per tensor are a Histogram (integer counts
// per bin, a power-of-two range) and ValueStats (integer counts, float min and
// max). Merging grows both histograms to the larger exponent (whole bins
// merge, see histogram.h) and adds counts; min and max are taken. Each step is
// exact, commutative and associative, so any merge of the shards equals one
// pass over all their samples, and every method, which reads nothing else,
// chooses the same range.
#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "base/body_path.h"
#include "calib/histogram.h"
#include "pq/calibration_stats.h"

namespace pq {
namespace {

bool SameFiles(const std::vector<StatisticsDataFile>& a, const std::vector<StatisticsDataFile>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.path == y.path && x.sha256 == y.sha256 && x.samples == y.samples;
  });
}

// What makes `b` unmergeable with `a` ("" when nothing does), shards aside.
std::string Difference(const CalibrationStatistics& a, const CalibrationStatistics& b) {
  if (a.model_sha256 != b.model_sha256) {
    return "they are for different models ('" + a.model_name + "' sha256 " + a.model_sha256 + ", '" +
           b.model_name + "' sha256 " + b.model_sha256 + ")";
  }
  if (a.pq_version != b.pq_version) return "they were made by pq " + a.pq_version + " and " + b.pq_version;
  if (a.preparation != b.preparation) return "the model was prepared differently (e.g. --no-fold-batchnorm)";
  if (!SameFiles(a.files, b.files)) return "they list different calibration data files";
  if (a.samples_limit != b.samples_limit) return "their --calib-samples differ";
  if (a.batch != b.batch) return "their --calib-batch differ";
  if (a.bins != b.bins) return "their bin counts differ";
  if (a.shard_count != b.shard_count) {
    return "they split the data into " + std::to_string(a.shard_count) + " and " +
           std::to_string(b.shard_count) + " shards";
  }
  // Every main-graph value runs on every sample; a value inside a body only
  // on the samples that run the body, so a shard may lack it.
  for (const CalibrationStatistics* side : {&a, &b}) {
    const CalibrationStatistics& other = side == &a ? b : a;
    for (const auto& [name, stats] : side->tensors) {
      if (!IsBodyValueName(name) && other.tensors.count(name) == 0) {
        return "tensor '" + name + "' is in one only";
      }
    }
  }
  return "";
}

std::string Source(const CalibrationStatistics& s) {
  return s.source_path.empty() ? std::string("statistics") : "'" + s.source_path + "'";
}

}  // namespace

Result<CalibrationStatistics> MergeCalibrationStatistics(const std::vector<CalibrationStatistics>& parts) {
  if (parts.size() < 2) return Status::InvalidInput("merging calibration statistics needs at least two files");
  const CalibrationStatistics& first = parts.front();
  std::map<int64_t, StatisticsShard> shards;
  for (const CalibrationStatistics& part : parts) {
    const std::string difference = Difference(first, part);
    if (!difference.empty()) {
      return Status::InvalidInput("cannot merge " + Source(first) + " and " + Source(part) + ": " + difference);
    }
    for (const StatisticsShard& shard : part.shards) {
      if (!shards.emplace(shard.index, shard).second) {
        return Status::InvalidInput("cannot merge " + Source(part) + ": shard " + std::to_string(shard.index) +
                                    "/" + std::to_string(part.shard_count) + " is in two of the files");
      }
    }
  }
  CalibrationStatistics merged = first;
  merged.source_path.clear();
  merged.source_sha256.clear();
  merged.shards.clear();
  merged.samples = 0;
  for (const auto& [index, shard] : shards) {
    merged.shards.push_back(shard);
    merged.samples += shard.samples;
  }
  merged.tensors.clear();
  std::set<std::string> names;
  for (const CalibrationStatistics& part : parts) {
    for (const auto& [name, stats] : part.tensors) names.insert(name);
  }
  for (const std::string& name : names) {
    // The parts were checked when read (or made by a collector), so the
    // histograms can be rebuilt; a failure here means they were not.
    std::optional<calib::Histogram> sum;
    for (const CalibrationStatistics& part : parts) {
      auto it = part.tensors.find(name);
      if (it == part.tensors.end()) continue;  // a body the part's samples did not run
      Result<calib::Histogram> next = calib::Histogram::FromStatistics(it->second);
      if (!next.ok()) return next.status().WithPrefix(Source(part) + ": tensor '" + name + "'");
      if (sum) {
        sum->Merge(next.value());
      } else {
        sum = std::move(next).value();
      }
    }
    merged.tensors.emplace(name, sum->ToStatistics());
  }
  return merged;
}

Status CheckStatisticsModel(const CalibrationStatistics& stats, const std::string& model_path,
                            const std::string& model_sha256) {
  if (stats.model_sha256 == model_sha256) return Status::OK();
  return Status::InvalidInput(Source(stats) + " holds statistics of model '" + stats.model_name + "' (sha256 " +
                              stats.model_sha256 + "), not of '" + model_path + "' (sha256 " + model_sha256 +
                              ")");
}

Result<CalibratedRange> RangeFromStatistics(const TensorStatistics& stats, const CalibrationOptions& options) {
  Result<std::unique_ptr<Calibrator>> calibrator = CreateCalibrator(options);
  if (!calibrator.ok()) return calibrator.status();
  PQ_RETURN_IF_ERROR(calibrator.value()->AddStatistics(stats));
  return calibrator.value()->Compute();
}

}  // namespace pq
