// ActivationStats: what calibration learned about a model's activations, as
// a value. The Calibrate stage returns one; Quantize records the one it used
// in its outcome; a caller that quantizes the same model again (sensitivity
// analysis, auto-fallback, one calibration for several schemes) passes it back
// in QuantizeOptions::activation_stats, and calibration does not run again.
// It round-trips through JSON exactly (floats and doubles as their shortest
// exact decimal form).
#ifndef PQ_ACTIVATION_STATS_H_
#define PQ_ACTIVATION_STATS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/calibration.h"
#include "pq/calibration_stats.h"
#include "pq/dataset.h"
#include "pq/status.h"

namespace pq {

struct ActivationStats {
  // The calibrated range of each activation, by tensor name.
  std::map<std::string, CalibratedRange> ranges;
  // Where the data came from and how much of it was used.
  std::vector<DatasetFile> files;
  int64_t samples = 0;
  int64_t batch = 0;
  // The method and grid the ranges were chosen for.
  CalibrationOptions calibration;
  // Set when the ranges were chosen from a .pqcal file instead of running
  // the model: the file, its digest, its shards and the data it lists.
  struct StatisticsFile {
    std::string path;
    std::string sha256;
    int64_t shard_count = 1;
    std::vector<StatisticsShard> shards;
    std::vector<StatisticsDataFile> files;
  };
  std::optional<StatisticsFile> statistics_file;

  bool empty() const { return ranges.empty(); }
  // Whether every tensor in `tensors` has a range here.
  bool Covers(const std::set<std::string>& tensors) const;
  // Whether these ranges were chosen the way `calibration` asks (same
  // method, percentile, bins and grid).
  bool MadeWith(const CalibrationOptions& calibration) const;
};

// Serialization (the format is versioned by its "format" key).
nlohmann::ordered_json ActivationStatsToJson(const ActivationStats& stats);
// Errors (kInvalidInput): a document that is not ActivationStats JSON, naming
// the first field that is missing or of the wrong type.
Result<ActivationStats> ActivationStatsFromJson(const nlohmann::ordered_json& json);

// Merges statistics gathered on disjoint shards of one calibration set, for
// the same model and tensors. Exact for minmax (the union's extremes and
// counts); the histogram methods choose their range from a histogram these
// values do not keep, so merging them is refused.
// Errors: kInvalidArgument (different tensors, methods or grids, or a
// histogram method).
Result<ActivationStats> MergeActivationStats(const ActivationStats& a, const ActivationStats& b);

}  // namespace pq

#endif  // PQ_ACTIVATION_STATS_H_
