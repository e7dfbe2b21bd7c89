#include "pq/activation_stats.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "calib/range_builder.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;

// The format tag of ActivationStatsToJson's documents.
constexpr const char* kStatsFormat = "pq-activation-stats-1";

// Reads `json[key]` as T. Errors (kInvalidInput) name `where` and the key.
template <typename T>
Status Read(const Json& json, const char* key, const std::string& where, T* out) {
  if (!json.is_object() || !json.contains(key)) {
    return Status::InvalidInput(where + ": field '" + key + "' is missing");
  }
  try {
    *out = json.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidInput(where + ": field '" + key + "' has the wrong type");
  }
  return Status::OK();
}

Result<CalibratedRange> RangeFromJson(const Json& j, const std::string& where) {
  CalibratedRange r;
  PQ_RETURN_IF_ERROR(Read(j, "method", where, &r.method));
  PQ_RETURN_IF_ERROR(Read(j, "values_seen", where, &r.values_seen));
  PQ_RETURN_IF_ERROR(Read(j, "nan_count", where, &r.nan_count));
  PQ_RETURN_IF_ERROR(Read(j, "inf_count", where, &r.inf_count));
  PQ_RETURN_IF_ERROR(Read(j, "observed_min", where, &r.observed_min));
  PQ_RETURN_IF_ERROR(Read(j, "observed_max", where, &r.observed_max));
  PQ_RETURN_IF_ERROR(Read(j, "chosen_min", where, &r.chosen_min));
  PQ_RETURN_IF_ERROR(Read(j, "chosen_max", where, &r.chosen_max));
  PQ_RETURN_IF_ERROR(Read(j, "clipped_fraction", where, &r.clipped_fraction));
  if (!j.contains("parameters")) return Status::InvalidInput(where + ": field 'parameters' is missing");
  r.parameters = j.at("parameters");
  return r;
}

bool SameGrid(const QuantGrid& a, const QuantGrid& b) {
  return a.symmetric == b.symmetric && a.qmin == b.qmin && a.qmax == b.qmax;
}

// The minmax range of the union of two minmax ranges, chosen as the minmax
// calibrator chooses it (widened to 0; ±max|x| on a symmetric grid).
CalibratedRange MergeMinMax(const CalibratedRange& a, const CalibratedRange& b, const QuantGrid& grid) {
  CalibratedRange r = a;
  r.values_seen = a.values_seen + b.values_seen;
  r.nan_count = a.nan_count + b.nan_count;
  r.inf_count = a.inf_count + b.inf_count;
  r.observed_min = std::min(a.observed_min, b.observed_min);
  r.observed_max = std::max(a.observed_max, b.observed_max);
  if (grid.symmetric) {
    r.chosen_max = std::max(std::fabs(r.observed_min), std::fabs(r.observed_max));
    r.chosen_min = -r.chosen_max;
  } else {
    r.chosen_min = std::min(r.observed_min, 0.0f);
    r.chosen_max = std::max(r.observed_max, 0.0f);
  }
  r.clipped_fraction = 0;
  return r;
}

}  // namespace

bool ActivationStats::Covers(const std::set<std::string>& tensors) const {
  return std::all_of(tensors.begin(), tensors.end(),
                     [this](const std::string& t) { return ranges.count(t) != 0; });
}

bool ActivationStats::MadeWith(const CalibrationOptions& other) const {
  return calibration.method == other.method && calibration.percentile == other.percentile &&
         calibration.bins == other.bins && SameGrid(calibration.grid, other.grid);
}

nlohmann::ordered_json ActivationStatsToJson(const ActivationStats& stats) {
  Json files = Json::array();
  for (const DatasetFile& f : stats.files) files.push_back({{"path", f.path}, {"samples", f.samples}});
  Json ranges = Json::object();
  for (const auto& [name, range] : stats.ranges) ranges[name] = CalibratedRangeToJson(range);
  return {{"format", kStatsFormat},
          {"calibration",
           {{"method", stats.calibration.method},
            {"percentile", stats.calibration.percentile},
            {"bins", stats.calibration.bins},
            {"grid", calib::GridJson(stats.calibration.grid)}}},
          {"files", files},
          {"samples", stats.samples},
          {"batch", stats.batch},
          {"ranges", ranges}};
}

Result<ActivationStats> ActivationStatsFromJson(const nlohmann::ordered_json& json) {
  const std::string where = "activation statistics";
  std::string format;
  PQ_RETURN_IF_ERROR(Read(json, "format", where, &format));
  if (format != kStatsFormat) {
    return Status::InvalidInput(where + ": format '" + format + "' is not " + kStatsFormat);
  }
  ActivationStats stats;
  Json calibration, files, ranges;
  PQ_RETURN_IF_ERROR(Read(json, "calibration", where, &calibration));
  PQ_RETURN_IF_ERROR(Read(calibration, "method", where + " calibration", &stats.calibration.method));
  PQ_RETURN_IF_ERROR(Read(calibration, "percentile", where + " calibration", &stats.calibration.percentile));
  PQ_RETURN_IF_ERROR(Read(calibration, "bins", where + " calibration", &stats.calibration.bins));
  Json grid;
  PQ_RETURN_IF_ERROR(Read(calibration, "grid", where + " calibration", &grid));
  PQ_RETURN_IF_ERROR(Read(grid, "symmetric", where + " grid", &stats.calibration.grid.symmetric));
  PQ_RETURN_IF_ERROR(Read(grid, "qmin", where + " grid", &stats.calibration.grid.qmin));
  PQ_RETURN_IF_ERROR(Read(grid, "qmax", where + " grid", &stats.calibration.grid.qmax));
  PQ_RETURN_IF_ERROR(Read(json, "files", where, &files));
  for (const Json& f : files) {
    DatasetFile file;
    PQ_RETURN_IF_ERROR(Read(f, "path", where + " file", &file.path));
    PQ_RETURN_IF_ERROR(Read(f, "samples", where + " file", &file.samples));
    stats.files.push_back(std::move(file));
  }
  PQ_RETURN_IF_ERROR(Read(json, "samples", where, &stats.samples));
  PQ_RETURN_IF_ERROR(Read(json, "batch", where, &stats.batch));
  PQ_RETURN_IF_ERROR(Read(json, "ranges", where, &ranges));
  if (!ranges.is_object()) return Status::InvalidInput(where + ": field 'ranges' is not an object");
  for (const auto& [name, r] : ranges.items()) {
    Result<CalibratedRange> range = RangeFromJson(r, where + " range '" + name + "'");
    if (!range.ok()) return range.status();
    stats.ranges.emplace(name, std::move(range).value());
  }
  return stats;
}

Result<ActivationStats> MergeActivationStats(const ActivationStats& a, const ActivationStats& b) {
  if (!a.MadeWith(b.calibration)) {
    return Status::InvalidArgument("activation statistics made with different calibration "
                                   "methods or grids cannot be merged");
  }
  if (a.calibration.method != "minmax") {
    return Status::InvalidArgument("merging activation statistics is exact only for minmax; '" +
                                   a.calibration.method +
                                   "' chooses its range from a histogram these statistics do not keep");
  }
  if (a.ranges.size() != b.ranges.size()) {
    return Status::InvalidArgument("activation statistics cover different tensors (" +
                                   std::to_string(a.ranges.size()) + " vs " +
                                   std::to_string(b.ranges.size()) + ")");
  }
  ActivationStats merged = a;
  for (auto& [name, range] : merged.ranges) {
    auto other = b.ranges.find(name);
    if (other == b.ranges.end()) {
      return Status::InvalidArgument("tensor '" + name + "' has statistics in one shard only");
    }
    range = MergeMinMax(range, other->second, a.calibration.grid);
  }
  merged.files.insert(merged.files.end(), b.files.begin(), b.files.end());
  merged.samples = a.samples + b.samples;
  return merged;
}

}  // namespace pq
