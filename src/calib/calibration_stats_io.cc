// The .pqcal file: CalibrationStatistics to and from JSON (the layout is in
// pq/calibration_stats.h). The reader trusts nothing: every field is checked
// for presence and type, integers must be integers, every tensor's histogram
// must be consistent (Histogram::FromStatistics), and the dense bins it
// allocates are bounded by kMaxTotalBins whatever the file claims.
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "calib/histogram.h"
#include "pq/calibration_stats.h"
#include "pq/report.h"
#include "util/sha256.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;

// Bins per sign, summed over tensors, that a file may make the reader
// allocate (two signs of int64 counts each):
// 512 MiB of counts, 16,384 tensors at the default 2,048 bins.
constexpr int64_t kMaxTotalBins = int64_t{1} << 25;

// Bins [first, last non-zero] of `counts`; {"first": 0, "counts": []} when
// all are zero.
Json SideJson(const std::vector<int64_t>& counts) {
  size_t first = 0, end = counts.size();
  while (first < end && counts[first] == 0) ++first;
  while (end > first && counts[end - 1] == 0) --end;
  if (first == end) first = 0;
  return {{"first", first}, {"counts", std::vector<int64_t>(counts.begin() + first, counts.begin() + end)}};
}

// A finite float as a JSON number; ±inf (no finite value) as null.
Json FloatJson(float x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

Json TensorJson(const TensorStatistics& t) {
  return {{"count", t.count},       {"nan", t.nan},
          {"inf", t.inf},           {"zeros", t.zeros},
          {"min", FloatJson(t.min)}, {"max", FloatJson(t.max)},
          {"exponent", t.exponent}, {"positive", SideJson(t.positive)},
          {"negative", SideJson(t.negative)}};
}

// Checked field access; every error names `where` and the key.
class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  Status Field(const Json& j, const char* key, const Json** out) const {
    if (!j.is_object()) return Error("is not an object");
    auto it = j.find(key);
    if (it == j.end()) return Error(std::string("field '") + key + "' is missing");
    *out = &*it;
    return Status::OK();
  }
  Status Int(const Json& j, const char* key, int64_t lo, int64_t hi, int64_t* out) const {
    const Json* v = nullptr;
    PQ_RETURN_IF_ERROR(Field(j, key, &v));
    return IntValue(*v, key, lo, hi, out);
  }
  Status IntValue(const Json& v, const std::string& what, int64_t lo, int64_t hi, int64_t* out) const {
    bool in_range = false;
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      in_range = u <= static_cast<uint64_t>(hi) && static_cast<int64_t>(u) >= lo;
      if (in_range) *out = static_cast<int64_t>(u);
    } else if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      in_range = i >= lo && i <= hi;
      if (in_range) *out = i;
    } else {
      return Error("'" + what + "' is not an integer");
    }
    if (!in_range) {
      return Error("'" + what + "' is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return Status::OK();
  }
  Status String(const Json& j, const char* key, std::string* out) const {
    const Json* v = nullptr;
    PQ_RETURN_IF_ERROR(Field(j, key, &v));
    if (!v->is_string()) return Error(std::string("field '") + key + "' is not a string");
    *out = v->get<std::string>();
    return Status::OK();
  }
  Status Array(const Json& j, const char* key, const Json** out) const {
    PQ_RETURN_IF_ERROR(Field(j, key, out));
    if (!(*out)->is_array()) return Error(std::string("field '") + key + "' is not an array");
    return Status::OK();
  }
  // A float extreme: a number within float range, or null for `none`.
  Status Float(const Json& j, const char* key, float none, float* out) const {
    const Json* v = nullptr;
    PQ_RETURN_IF_ERROR(Field(j, key, &v));
    if (v->is_null()) {
      *out = none;
      return Status::OK();
    }
    if (!v->is_number()) return Error(std::string("field '") + key + "' is not a number");
    const double d = v->get<double>();
    if (!(std::fabs(d) <= std::numeric_limits<float>::max())) {
      return Error(std::string("field '") + key + "' is outside the float range");
    }
    *out = static_cast<float>(d);
    return Status::OK();
  }
  Status Error(const std::string& what) const { return Status::InvalidInput(where_ + ": " + what); }

 private:
  std::string where_;
};

Status ReadSide(const Reader& r, const Json& j, const char* key, int bins, std::vector<int64_t>* out) {
  const Json* side = nullptr;
  PQ_RETURN_IF_ERROR(r.Field(j, key, &side));
  int64_t first = 0;
  const Json* counts = nullptr;
  PQ_RETURN_IF_ERROR(r.Int(*side, "first", 0, bins, &first));
  PQ_RETURN_IF_ERROR(r.Array(*side, "counts", &counts));
  if (static_cast<int64_t>(counts->size()) > bins - first) {
    return r.Error(std::string("'") + key + "' lists " + std::to_string(counts->size()) +
                   " bins from bin " + std::to_string(first) + " of " + std::to_string(bins));
  }
  out->assign(static_cast<size_t>(bins), 0);
  size_t i = static_cast<size_t>(first);
  for (const Json& c : *counts) {
    PQ_RETURN_IF_ERROR(r.IntValue(c, std::string(key) + " count", 0, std::numeric_limits<int64_t>::max(),
                                  &(*out)[i++]));
  }
  return Status::OK();
}

Status ReadTensor(const Json& j, int bins, const std::string& where, TensorStatistics* t) {
  const Reader r(where);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t exponent = 0;
  t->bins = bins;
  PQ_RETURN_IF_ERROR(r.Int(j, "count", 0, kMax, &t->count));
  PQ_RETURN_IF_ERROR(r.Int(j, "nan", 0, kMax, &t->nan));
  PQ_RETURN_IF_ERROR(r.Int(j, "inf", 0, kMax, &t->inf));
  PQ_RETURN_IF_ERROR(r.Int(j, "zeros", 0, kMax, &t->zeros));
  PQ_RETURN_IF_ERROR(r.Float(j, "min", std::numeric_limits<float>::infinity(), &t->min));
  PQ_RETURN_IF_ERROR(r.Float(j, "max", -std::numeric_limits<float>::infinity(), &t->max));
  PQ_RETURN_IF_ERROR(r.Int(j, "exponent", calib::Histogram::kMinExponent, calib::Histogram::kMaxExponent, &exponent));
  t->exponent = static_cast<int>(exponent);
  PQ_RETURN_IF_ERROR(ReadSide(r, j, "positive", bins, &t->positive));
  PQ_RETURN_IF_ERROR(ReadSide(r, j, "negative", bins, &t->negative));
  Result<calib::Histogram> checked = calib::Histogram::FromStatistics(*t);
  if (!checked.ok()) return r.Error(checked.status().message());
  return Status::OK();
}

Status ReadData(const Reader& r, const Json& json, CalibrationStatistics* s) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Json *data = nullptr, *files = nullptr;
  PQ_RETURN_IF_ERROR(r.Field(json, "data", &data));
  PQ_RETURN_IF_ERROR(r.Array(*data, "files", &files));
  for (const Json& f : *files) {
    StatisticsDataFile file;
    PQ_RETURN_IF_ERROR(r.String(f, "path", &file.path));
    PQ_RETURN_IF_ERROR(r.String(f, "sha256", &file.sha256));
    PQ_RETURN_IF_ERROR(r.Int(f, "samples", 0, kMax, &file.samples));
    s->files.push_back(std::move(file));
  }
  PQ_RETURN_IF_ERROR(r.Int(*data, "samples_limit", 0, kMax, &s->samples_limit));
  PQ_RETURN_IF_ERROR(r.Int(*data, "batch", 1, kMax, &s->batch));
  return Status::OK();
}

Status ReadShards(const Reader& r, const Json& json, CalibrationStatistics* s) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Json *shards = nullptr, *parts = nullptr;
  PQ_RETURN_IF_ERROR(r.Field(json, "shards", &shards));
  PQ_RETURN_IF_ERROR(r.Int(*shards, "count", 1, kMax, &s->shard_count));
  PQ_RETURN_IF_ERROR(r.Array(*shards, "parts", &parts));
  if (parts->empty()) return r.Error("'parts' lists no shard");
  int64_t samples = 0;
  for (const Json& p : *parts) {
    StatisticsShard shard;
    PQ_RETURN_IF_ERROR(r.Int(p, "index", 1, s->shard_count, &shard.index));
    PQ_RETURN_IF_ERROR(r.Int(p, "samples", 0, kMax, &shard.samples));
    if (!s->shards.empty() && shard.index <= s->shards.back().index) {
      return r.Error("shard indices are not increasing at shard " + std::to_string(shard.index));
    }
    if (__builtin_add_overflow(samples, shard.samples, &samples)) return r.Error("shard samples overflow");
    s->shards.push_back(shard);
  }
  PQ_RETURN_IF_ERROR(r.Int(json, "samples", 0, kMax, &s->samples));
  if (samples != s->samples) {
    return r.Error("the shards hold " + std::to_string(samples) + " samples but 'samples' is " +
                   std::to_string(s->samples));
  }
  return Status::OK();
}

}  // namespace

std::string SerializeCalibrationStatistics(const CalibrationStatistics& s) {
  Json files = Json::array();
  for (const StatisticsDataFile& f : s.files) {
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"samples", f.samples}});
  }
  Json parts = Json::array();
  for (const StatisticsShard& p : s.shards) parts.push_back({{"index", p.index}, {"samples", p.samples}});
  Json tensors = Json::object();
  for (const auto& [name, t] : s.tensors) tensors[name] = TensorJson(t);
  const Json doc = {{"format", kCalibrationStatsFormat},
                    {"version", kCalibrationStatsVersion},
                    {"pq_version", s.pq_version},
                    {"model", {{"name", s.model_name}, {"sha256", s.model_sha256}}},
                    {"preparation", s.preparation},
                    {"data", {{"files", files}, {"samples_limit", s.samples_limit}, {"batch", s.batch}}},
                    {"shards", {{"count", s.shard_count}, {"parts", parts}}},
                    {"samples", s.samples},
                    {"bins", s.bins},
                    {"tensors", tensors}};
  return doc.dump(1) + "\n";
}

Result<CalibrationStatistics> ParseCalibrationStatistics(std::string_view bytes, const std::string& name) {
  const Json json = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  const Reader r(name);
  if (json.is_discarded()) {
    return r.Error(std::string("not a ") + kCalibrationStatsFormat + " file (not JSON, or truncated)");
  }
  std::string format;
  if (!json.is_object() || !r.String(json, "format", &format).ok() || format != kCalibrationStatsFormat) {
    return r.Error(std::string("not a ") + kCalibrationStatsFormat + " file (its 'format' is not '" +
                   kCalibrationStatsFormat + "')");
  }
  int64_t version = 0;
  PQ_RETURN_IF_ERROR(r.Int(json, "version", 0, std::numeric_limits<int32_t>::max(), &version));
  if (version != kCalibrationStatsVersion) {
    return r.Error("version " + std::to_string(version) + " is not supported (this pq reads version " +
                   std::to_string(kCalibrationStatsVersion) + ")");
  }
  CalibrationStatistics s;
  const Json *model = nullptr, *preparation = nullptr, *tensors = nullptr;
  PQ_RETURN_IF_ERROR(r.String(json, "pq_version", &s.pq_version));
  PQ_RETURN_IF_ERROR(r.Field(json, "model", &model));
  PQ_RETURN_IF_ERROR(r.String(*model, "name", &s.model_name));
  PQ_RETURN_IF_ERROR(r.String(*model, "sha256", &s.model_sha256));
  PQ_RETURN_IF_ERROR(r.Array(json, "preparation", &preparation));
  for (const Json& p : *preparation) {
    if (!p.is_string()) return r.Error("'preparation' holds a non-string");
    s.preparation.push_back(p.get<std::string>());
  }
  PQ_RETURN_IF_ERROR(ReadData(r, json, &s));
  PQ_RETURN_IF_ERROR(ReadShards(r, json, &s));
  int64_t bins = 0;
  PQ_RETURN_IF_ERROR(r.Int(json, "bins", kMinCalibrationBins, kMaxCalibrationBins, &bins));
  if ((bins & (bins - 1)) != 0) return r.Error("'bins' " + std::to_string(bins) + " is not a power of two");
  s.bins = static_cast<int>(bins);
  PQ_RETURN_IF_ERROR(r.Field(json, "tensors", &tensors));
  if (!tensors->is_object()) return r.Error("'tensors' is not an object");
  if (static_cast<int64_t>(tensors->size()) > kMaxTotalBins / bins) {
    return r.Error(std::to_string(tensors->size()) + " tensors of " + std::to_string(bins) +
                   " bins exceed the limit of " + std::to_string(kMaxTotalBins) + " bins");
  }
  for (const auto& [tensor, t] : tensors->items()) {
    TensorStatistics stats;
    PQ_RETURN_IF_ERROR(ReadTensor(t, s.bins, name + ": tensor '" + tensor + "'", &stats));
    s.tensors.emplace(tensor, std::move(stats));
  }
  return s;
}

Result<CalibrationStatistics> ReadCalibrationStatistics(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::InvalidInput(path + ": cannot read the calibration statistics (not a readable file)");
  }
  if (st.st_size > kMaxCalibrationStatsBytes) {
    return Status::InvalidInput(path + ": " + std::to_string(st.st_size) + " bytes exceed the limit of " +
                                std::to_string(kMaxCalibrationStatsBytes) + " for calibration statistics");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) return Status::InvalidInput(path + ": cannot read the calibration statistics");
  const std::string text = bytes.str();
  Result<CalibrationStatistics> stats = ParseCalibrationStatistics(text, path);
  if (!stats.ok()) return stats;
  stats->source_path = path;
  stats->source_sha256 = Sha256Bytes(text.data(), text.size());
  return stats;
}

Status WriteCalibrationStatistics(const CalibrationStatistics& stats, const std::string& path, bool force) {
  return WriteTextFile(SerializeCalibrationStatistics(stats), path, force);
}

}  // namespace pq
