// CalibrationStatistics: the raw activation statistics of one model over
// calibration data, as a value and as a .pqcal file. They hold everything
// every calibration method needs (per tensor, the power-of-two histogram and
// the value counts), so the method is chosen when quantizing, and they merge
// exactly: statistics of disjoint shards of a dataset merge into the
// statistics of all of it, bit for bit (integer counts, min and max only; no
// floating-point sums).
//
// A .pqcal file is JSON:
//   {"format": "pq-calibration-statistics", "version": 1, "pq_version": …,
//    "model": {"name": …, "sha256": …}, "preparation": [transformations…],
//    "data": {"files": [{"path", "sha256", "samples"}…], "samples_limit",
//             "batch"},
//    "shards": {"count": N, "parts": [{"index": I, "samples": S}…]},
//    "samples": total, "bins": B,
//    "tensors": {name: {"count", "nan", "inf", "zeros", "min", "max",
//                       "exponent", "positive": {"first", "counts"},
//                       "negative": {"first", "counts"}}…}}
// "counts" lists the bins from "first" up to the last non-zero one. min and
// max are null when a tensor has no finite value. Values inside If/Loop/Scan
// bodies are keyed by their scoped names ("If 'gate'/then_branch::x",
// base/body_path.h), over every run of the body; a body no sample ran has
// none.
#ifndef PQ_CALIBRATION_STATS_H_
#define PQ_CALIBRATION_STATS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "pq/calibration.h"
#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/status.h"

namespace pq {

// The file format's name and version; readers refuse any other.
inline constexpr const char* kCalibrationStatsFormat = "pq-calibration-statistics";
inline constexpr int kCalibrationStatsVersion = 1;
// Files larger than this are refused before they are read (parsing holds
// the document in memory).
inline constexpr int64_t kMaxCalibrationStatsBytes = int64_t{1} << 30;

// The raw statistics of one tensor: a histogram in the layout of
// src/calib/histogram.h (range (-2^exponent, 2^exponent), `bins` bins per
// sign, positive[i] counts finite x >= 0 with floor(x / w) == i, negative[i]
// those < 0 with floor(-x / w) == i, w = 2^exponent / bins) and the counts of
// every value seen.
struct TensorStatistics {
  int bins = 0;
  int exponent = 0;
  std::vector<int64_t> positive;
  std::vector<int64_t> negative;
  int64_t count = 0;  // every value, NaN and ±Inf included
  int64_t nan = 0;
  int64_t inf = 0;
  int64_t zeros = 0;
  // Extremes of the finite values; +inf / -inf when there are none.
  float min = 0;
  float max = 0;
};

// A calibration data file as the statistics record it.
struct StatisticsDataFile {
  std::string path;    // as given to `pq calibrate`
  std::string sha256;  // "" for a folder (test_data_set_*)
  int64_t samples = 0;
};

// One shard of the data: samples s with s % count == index - 1.
struct StatisticsShard {
  int64_t index = 1;  // 1-based
  int64_t samples = 0;
};

struct CalibrationStatistics {
  std::string pq_version;
  std::string model_name;    // the model file's name, without folders
  std::string model_sha256;  // of the model file
  // The transformations applied to the model before calibration (the
  // Prepare stage's record): a quantization that prepares the model
  // differently would see other tensors.
  std::vector<std::string> preparation;
  std::vector<StatisticsDataFile> files;
  int64_t samples_limit = 0;  // --calib-samples (0 = all)
  int64_t batch = 1;
  int64_t shard_count = 1;
  std::vector<StatisticsShard> shards;  // by index; all of them once complete
  int64_t samples = 0;                  // observed, over all shards here
  int bins = 0;
  std::map<std::string, TensorStatistics> tensors;

  // Where the statistics were read from (set by ReadCalibrationStatistics,
  // not stored in the file).
  std::string source_path;
  std::string source_sha256;

  // Whether every shard of the data is here.
  bool complete() const { return static_cast<int64_t>(shards.size()) == shard_count; }
};

// The .pqcal bytes of `stats` (JSON, keys in the order above, integers
// exact, floats as their shortest exact decimal form).
std::string SerializeCalibrationStatistics(const CalibrationStatistics& stats);

// Parses .pqcal bytes. `name` (the file) prefixes every error.
// Errors (kInvalidInput): not JSON (e.g. truncated), another format or
// version, a missing or mistyped field (named), or statistics that are
// inconsistent (see TensorStatistics' layout). Never allocates more than a
// constant multiple of `bytes`.
Result<CalibrationStatistics> ParseCalibrationStatistics(std::string_view bytes, const std::string& name);

// Reads the .pqcal file at `path` and sets source_path and source_sha256.
// Errors (kInvalidInput): unreadable, larger than kMaxCalibrationStatsBytes,
// and ParseCalibrationStatistics'.
Result<CalibrationStatistics> ReadCalibrationStatistics(const std::string& path);

// Writes `stats` to `path` atomically (nothing is left on failure).
// Errors (kOutputError): `path` exists and !force, or cannot be written.
Status WriteCalibrationStatistics(const CalibrationStatistics& stats, const std::string& path, bool force);

// Merges statistics of different shards of the same data for the same
// model. The result does not depend on the order of `parts`.
// Errors (kInvalidInput, naming the two sources and what differs): fewer
// than two parts; another model, preparation, data files, sample limit,
// batch, bin count or shard count; a shard in two parts; other main-graph
// tensors. A value inside an If/Loop/Scan body (a scoped name,
// IsBodyValueName) may be in some parts only, as a shard whose samples never
// run the body has none; the merge holds the union.
Result<CalibrationStatistics> MergeCalibrationStatistics(const std::vector<CalibrationStatistics>& parts);

// How GatherCalibrationStatistics reads the data.
struct StatisticsRun {
  int64_t batch = 1;          // samples per executor run
  int64_t samples_limit = 0;  // use samples [0, limit) only; 0 = all
  // Shard `shard_index` (1-based) of `shard_count`: the samples s with
  // s % shard_count == shard_index - 1, in order.
  int64_t shard_index = 1;
  int64_t shard_count = 1;
  int bins = 2048;
};

// Runs the shard of `data` that `run` names through `executor` and gathers
// the statistics of every float tensor the executor produces (feeds and node
// outputs, and inside If/Loop/Scan bodies the values of every run of the
// body, by scoped name). Fills tensors, bins, batch, samples_limit, the shard and samples;
// the caller fills the model, preparation and data files. The histograms do
// not depend on how samples are grouped into runs as long as the executor
// computes each sample's rows alike in any batch (always so with batch 1).
// Errors: kInvalidArgument (batch < 1, bins, a shard outside 1..count),
// kInvalidInput (a shard without samples), the dataset's and executor's.
Result<CalibrationStatistics> GatherCalibrationStatistics(
    const Executor& executor, const Dataset& data, const StatisticsRun& run,
    const std::function<void(int64_t done, int64_t total)>& progress);

// Checks that `stats` were made for the model whose file has sha256
// `model_sha256` (at `model_path`, for the message).
// Errors (kInvalidInput): another model, naming both files and digests.
Status CheckStatisticsModel(const CalibrationStatistics& stats, const std::string& model_path,
                            const std::string& model_sha256);

// The range `options` chooses from `stats` (the same as a calibrator of
// `options` that observed the values themselves).
// Errors: CreateCalibrator's; kInvalidInput when the bin counts differ or
// there is no finite value.
Result<CalibratedRange> RangeFromStatistics(const TensorStatistics& stats, const CalibrationOptions& options);

}  // namespace pq

#endif  // PQ_CALIBRATION_STATS_H_
