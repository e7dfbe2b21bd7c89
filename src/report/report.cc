#include "pq/report.h"
#include "report/report_parts.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <set>

#include "onnx/onnx_pb.h"
#include "pq/data_type.h"
#include "pq/version.h"
#include "base/onnx_domain.h"
#include "util/file_util.h"
#include "util/json_number.h"
#include "util/sha256.h"

namespace pq {

using Json = nlohmann::ordered_json;

std::string UtcTimestamp() {
  std::time_t now = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) {
    char* end = nullptr;
    const long long value = std::strtoll(epoch, &end, 10);
    if (end != epoch && *end == '\0' && value >= 0) now = static_cast<std::time_t>(value);
  }
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

int64_t FileBytes(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// The digest of `path`: from `known` when listed there, else computed.
Result<std::string> Sha256Of(const std::string& path, const std::map<std::string, std::string>& known) {
  auto it = known.find(path);
  if (it != known.end()) return it->second;
  return Sha256File(path);
}

Result<Json> ModelFacts(const Model& model, const std::string& path,
                        const std::vector<std::string>& data_files,
                        const std::map<std::string, std::string>& known_sha256, int64_t* total_bytes) {
  Json j;
  j["path"] = path;
  Result<std::string> sha = Sha256Of(path, known_sha256);
  if (!sha.ok()) return sha.status();
  j["sha256"] = sha.value();
  j["bytes"] = FileBytes(path);
  *total_bytes = FileBytes(path);
  j["ir_version"] = model.proto().ir_version();
  Json opsets = Json::array();
  for (const auto& o : model.proto().opset_import()) {
    opsets.push_back({{"domain", DomainName(o.domain())}, {"version", o.version()}});
  }
  j["opsets"] = opsets;
  j["producer"] = {{"name", model.proto().producer_name()},
                   {"version", model.proto().producer_version()}};
  Json external = Json::array();
  for (const std::string& file : data_files) {
    Result<std::string> file_sha = Sha256Of(file, known_sha256);
    if (!file_sha.ok()) return file_sha.status();
    external.push_back({{"path", file}, {"sha256", file_sha.value()}, {"bytes", FileBytes(file)}});
    *total_bytes += FileBytes(file);
  }
  j["external_data"] = external;
  return j;
}

std::vector<std::string> ReportCommand(const std::vector<std::string>& argv) {
  std::vector<std::string> command;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--threads") {
      ++i;
      continue;
    }
    if (argv[i].rfind("--threads=", 0) == 0) continue;
    command.push_back(argv[i]);
  }
  return command;
}

Result<Json> CalibrationFilesJson(const std::vector<DatasetFile>& used, int64_t samples, int64_t batch) {
  if (used.empty()) return Json(nullptr);
  Json files = Json::array();
  for (const DatasetFile& f : used) {
    Json entry = {{"path", f.path}, {"samples", f.samples}};
    Result<std::string> sha = Sha256IfRegularFile(f.path);
    if (!sha.ok()) return sha.status();
    entry["sha256"] = sha->empty() ? Json(nullptr) : Json(sha.value());  // null: a test_data_set_* folder
    if (f.tokens) {
      Json tokens = {{"window", f.tokens->window}, {"dropped_tokens", f.tokens->dropped_tokens},
                     {"tokenizer", nullptr}, {"tokenizer_sha256", nullptr}};
      if (!f.tokens->tokenizer.empty()) {
        Result<std::string> sha = Sha256File(f.tokens->tokenizer);
        if (!sha.ok()) return sha.status();
        tokens["tokenizer"] = f.tokens->tokenizer;
        tokens["tokenizer_sha256"] = sha.value();
      }
      entry["tokens"] = tokens;
    }
    files.push_back(entry);
  }
  return Json{{"files", files}, {"samples_used", samples}, {"batch", batch}};
}

namespace {

// The facts of a blockwise 4-bit weight: how it is read back, the bytes it
// takes, and for double-quantized absmax what is written and how `scale`
// (the reconstructed absmax) is computed from it.
void BlockwiseJson(const QuantizedTensorRecord& r, Json* j) {
  (*j)["written_as"]["form"] = r.written_form;
  (*j)["written_as"]["nodes"] = r.written_nodes;
  (*j)["stored_bytes"] = r.stored_bytes;
  if (r.double_quant) {
    const auto& dq = *r.double_quant;
    std::vector<int> codes(dq.codes.begin(), dq.codes.end());
    (*j)["double_quant"] = {
        {"block_size", dq.block_size},
        {"codes_name", r.scale_name},
        {"codes", codes},
        {"scales_name", dq.scales_name},
        {"scales", dq.scales},
        {"offset_name", dq.offset_name},
        {"offset", dq.offset},
        {"reconstruction", "scale[i] = float(codes[i]) * scales[i / block_size] + offset"}};
  } else {
    (*j)["double_quant"] = nullptr;
  }
}

// How a weight was rounded onto its grid (weights of a --weight-algo other
// than rtn).
Json RoundingJson(const WeightRoundingRecord& r) {
  auto optional = [](const std::optional<double>& v) { return v ? JsonNumber(*v) : Json(nullptr); };
  Json j = {{"requested", r.requested},
            {"applied", r.applied},
            {"fallback", r.fallback.empty() ? Json(nullptr) : Json(r.fallback)}};
  j["damp"] = r.damp;
  j["lambda"] = r.lambda;
  j["act_order"] = r.act_order;
  j["static_groups"] = r.static_groups;
  j["lazy_batch"] = r.lazy_batch > 0 ? Json(r.lazy_batch) : Json(nullptr);
  j["hessian"] = r.inputs.empty() ? Json(nullptr)
                                  : Json{{"inputs", r.inputs}, {"rows", r.rows}, {"dead_inputs", r.dead_inputs}};
  j["output_error"] = {{"rtn", optional(r.output_error_rtn)}, {r.requested, optional(r.output_error)}};
  if (r.alpha) {
    j["awq"] = {{"alpha", *r.alpha},
                {"scale_min", r.scale_min},
                {"scale_max", r.scale_max},
                {"scaled_with", r.scaled_with},
                {"folded_into", r.scales_folded_into.empty() ? Json(nullptr) : Json(r.scales_folded_into)}};
  }
  return j;
}

// A scale or zero-point array, or (summary detail, long arrays) its digest.
template <typename T, typename Packed>
Json ValuesJson(const std::vector<T>& values, size_t limit) {
  if (values.size() <= limit) return Json(values);
  std::vector<Packed> packed(values.begin(), values.end());
  return {{"count", values.size()},
          {"min", *std::min_element(values.begin(), values.end())},
          {"max", *std::max_element(values.begin(), values.end())},
          {"sha256", Sha256Bytes(packed.data(), packed.size() * sizeof(Packed))}};
}

// The element count of the constants (initializers and Constant-node values)
// held inside the If/Loop/Scan bodies of `graph`'s nodes, at any depth.
int64_t BodyConstantElements(const onnx::GraphProto& graph) {
  auto elements = [](const onnx::TensorProto& t) {
    int64_t count = 1;
    for (int64_t d : t.dims()) count *= d;
    return count;
  };
  int64_t total = 0;
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (!attr.has_g()) continue;
      const onnx::GraphProto& body = attr.g();
      for (const auto& init : body.initializer()) total += elements(init);
      for (const auto& n : body.node()) {
        for (const auto& a : n.attribute()) {
          if (n.op_type() == "Constant" && a.name() == "value" && a.has_t()) total += elements(a.t());
        }
      }
      total += BodyConstantElements(body);
    }
  }
  return total;
}

Json TensorJson(const QuantizedTensorRecord& r, size_t limit) {
  Json j;
  j["name"] = r.name;
  if (!r.graph.empty()) j["graph"] = r.graph;
  j["role"] = TensorRoleName(r.role);
  Json consumers = Json::array();
  for (const ConsumerRef& c : r.consumers) consumers.push_back({{"node", c.node}, {"op_type", c.op_type}});
  j["consumers"] = consumers;
  j["shape"] = r.role == TensorRole::kActivation ? Json(nullptr) : Json(r.shape);
  j["from_dtype"] = DataTypeName(r.from_dtype);
  j["to_dtype"] = r.storage_type.empty() ? Json(DataTypeName(r.params.dtype)) : Json(r.storage_type);
  j["scheme"] = r.scheme;
  j["granularity"] = r.granularity;
  j["axis"] = r.params.axis >= 0 ? Json(r.params.axis) : Json(nullptr);
  j["block_size"] = r.params.block_size > 0 ? Json(r.params.block_size) : Json(nullptr);
  j["scale"] = ValuesJson<float, float>(r.params.scale, limit);
  j["zero_point"] = ValuesJson<int64_t, int64_t>(r.params.zero_point, limit);
  j["range"] = r.range ? CalibratedRangeToJson(*r.range) : Json(nullptr);
  j["shares_params_with"] = r.shares_params_with.empty() ? Json(nullptr) : Json(r.shares_params_with);
  if (r.error) {
    j["error"] = {{"mse", r.error->mse},
                  {"sqnr_db", JsonNumber(r.error->sqnr_db)},
                  {"max_abs", r.error->max_abs},
                  {"cosine", r.error->cosine}};
  } else {
    j["error"] = nullptr;
  }
  j["written_as"] = {{"quantized", r.quantized_name},
                     {"scale", r.scale_name},
                     {"zero_point", r.zero_point_name},
                     {"dequantized", r.dequantized_name}};
  if (!r.written_form.empty()) BlockwiseJson(r, &j);
  if (r.accuracy_level >= 0) j["written_as"]["accuracy_level"] = r.accuracy_level;
  if (!r.selected_by.empty()) {
    auto text = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
    j["selection"] = {{"by", r.selected_by},
                      {"value", r.selection_value},
                      {"pattern", text(r.override_pattern)},
                      {"note", text(r.selection_note)}};
  }
  if (r.rounding) j["rounding"] = RoundingJson(*r.rounding);
  if (r.smoothquant) {
    const SmoothQuantRecord& q = *r.smoothquant;
    auto text = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
    j["smoothquant"] = {{"alpha", q.alpha},
                        {"input", text(q.input)},
                        {"applied", q.not_applied.empty()},
                        {"folded_into", text(q.folded_into)},
                        {"not_applied", text(q.not_applied)},
                        {"scale_min", q.scale_min},
                        {"scale_max", q.scale_max},
                        {"scaled_with", q.scaled_with}};
  }
  if (r.bias_correction) {
    const BiasCorrectionRecord& b = *r.bias_correction;
    auto text = [](const std::string& v) { return v.empty() ? Json(nullptr) : Json(v); };
    j["bias_correction"] = {{"bias", text(b.bias)},
                            {"bias_added", b.bias_added},
                            {"applied", b.not_applied.empty()},
                            {"not_applied", text(b.not_applied)},
                            {"channels", b.channels},
                            {"max_abs", b.max_abs},
                            {"mean_abs", b.mean_abs},
                            {"max_relative", b.max_relative}};
  }
  return j;
}

// One Conv pair of --equalize.
Json EqualizationJson(const EqualizationRecord& r) {
  return {{"first", r.first_node},
          {"second", r.second_node},
          {"first_weight", r.first_weight},
          {"second_weight", r.second_weight},
          {"between", r.between},
          {"applied", r.applied},
          {"not_applied", r.not_applied.empty() ? Json(nullptr) : Json(r.not_applied)},
          {"channels", r.channels},
          {"scale_min", r.scale_min},
          {"scale_max", r.scale_max},
          {"first_range_ratio", {{"before", r.first_range_ratio_before}, {"after", r.first_range_ratio_after}}},
          {"second_range_ratio", {{"before", r.second_range_ratio_before}, {"after", r.second_range_ratio_after}}}};
}

// The options as applied; the schemes add their own part (symmetric_weights
// in its place, then their blockwise options).
Json ConfigJson(const QuantizeOptions& o, const QuantizeOutcome& outcome, const ReportInputs& in) {
  const Json& schemes = outcome.scheme_config;
  Json config = {
      {"scheme", o.scheme},
      {"weights_only", o.weights_only},
      {"symmetric_weights", schemes.value("symmetric_weights", false)},
      {"granularity", schemes.value("granularity", outcome.per_channel && o.per_channel ? "per-channel"
                                                                                         : "per-tensor")},
      {"granularity_requested", o.per_channel ? "per-channel" : "per-tensor"},
      {"op_types", o.op_types},
      {"exclude_nodes", o.exclude_nodes},
      {"exclude_op_types", o.exclude_op_types},
      {"fold_batchnorm", o.fold_batchnorm},
      {"report_detail", ReportDetailName(in.array_limit)},
      {"calibration",
       o.weights_only ? Json(nullptr)
                      : Json{{"method", o.calibration.method},
                             {"percentile", o.calibration.percentile},
                             {"bins", o.calibration.bins},
                             {"batch", o.calib_batch},
                             {"samples_limit", o.calib_samples}}},
      {"external_data", !in.output->data_path.empty()},
  };
  for (const auto& [key, value] : schemes.items()) {
    if (!config.contains(key)) config[key] = value;
  }
  // Reports of the default rtn stay as they were.
  if (o.weight_algo != "rtn") {
    config["weight_rounding"] = {{"algorithm", o.weight_algo}};
    if (o.weight_algo == "gptq") {
      config["weight_rounding"]["damp"] = o.gptq_damp;
      config["weight_rounding"]["act_order"] = o.gptq_act_order;
    }
  }
  // Present only with the flag: reports without it stay as they were.
  if (o.smoothquant_alpha) config["smoothquant"] = {{"alpha", *o.smoothquant_alpha}};
  if (o.equalize) config["equalize"] = true;
  if (o.bias_correction) config["bias_correction"] = true;
  return config;
}

// Calibration from a .pqcal file: the data files as the file lists them
// (with the digests taken when calibrating; they need not exist here), and
// the file itself under "statistics_file".
Json StatisticsFileJson(const ActivationStats& stats) {
  const ActivationStats::StatisticsFile& from = *stats.statistics_file;
  Json files = Json::array();
  for (const StatisticsDataFile& f : from.files) {
    files.push_back({{"path", f.path},
                     {"samples", f.samples},
                     {"sha256", f.sha256.empty() ? Json(nullptr) : Json(f.sha256)}});
  }
  Json shards = Json::array();
  for (const StatisticsShard& s : from.shards) shards.push_back({{"index", s.index}, {"samples", s.samples}});
  return Json{{"files", files},
              {"samples_used", stats.samples},
              {"batch", stats.batch},
              {"statistics_file",
               {{"path", from.path},
                {"sha256", from.sha256},
                {"shards", {{"count", from.shard_count}, {"parts", shards}}}}}};
}

// The calibration data and how much of it was used (by calibration, else
// by the weight rounding); null when no data was read.
Result<Json> CalibrationJson(const QuantizeOutcome& outcome) {
  const ActivationStats& stats = outcome.activation_stats;
  if (stats.statistics_file) return StatisticsFileJson(stats);
  const QuantizeOutcome::RoundingData& rounding = outcome.rounding_data;
  const bool calibrated = !stats.files.empty();
  return CalibrationFilesJson(calibrated ? stats.files : rounding.files,
                              calibrated ? stats.samples : rounding.samples,
                              calibrated ? stats.batch : rounding.batch);
}

}  // namespace

std::vector<std::string> InputFiles(const Model& model) {
  std::vector<std::string> files = {model.path()};
  for (const ExternalFile& f : model.ExternalFiles()) files.push_back(model.base_dir() + "/" + f.location);
  return files;
}

BackgroundHasher::BackgroundHasher(std::vector<std::string> paths)
    : result_(std::async(std::launch::async,
                         [this, paths = std::move(paths)]() -> Result<std::map<std::string, std::string>> {
                           std::map<std::string, std::string> digests;
                           for (const std::string& path : paths) {
                             Result<std::string> sha = Sha256File(path, &cancel_);
                             if (!sha.ok()) return sha.status();
                             digests[path] = sha.value();
                           }
                           return digests;
                         })) {}

BackgroundHasher::~BackgroundHasher() {
  cancel_ = true;
  if (result_.valid()) result_.wait();
}

Result<std::map<std::string, std::string>> BackgroundHasher::Wait() { return result_.get(); }

const char* ReportDetailName(size_t array_limit) {
  if (array_limit == kReportSummaryArrayLimit) return "summary";
  if (array_limit == kReportAutoArrayLimit) return "auto";
  return "full";
}

Result<nlohmann::ordered_json> BuildReport(const ReportInputs& in, const QuantizeOutcome& outcome) {
  const QuantizeOptions& o = *in.options;
  Json report;
  report["schema_version"] = kReportSchemaVersion;
  report["tool"] = {{"name", "pq"}, {"version", kVersion}};
  report["created_at"] = UtcTimestamp();
  report["command"] = ReportCommand(in.argv);

  std::vector<std::string> input_data = InputFiles(*in.input_model);
  input_data.erase(input_data.begin());  // the model file itself
  int64_t bytes_before = 0, bytes_after = 0;
  Result<Json> input = ModelFacts(*in.input_model, in.input_model->path(), input_data,
                                  in.known_sha256, &bytes_before);
  if (!input.ok()) return input.status();
  report["input_model"] = input.value();
  std::vector<std::string> output_data;
  if (!in.output->data_path.empty()) output_data.push_back(in.output->data_path);
  Result<Json> output = ModelFacts(*outcome.model, in.output->model_path, output_data,
                                   in.known_sha256, &bytes_after);
  if (!output.ok()) return output.status();
  report["output_model"] = output.value();

  report["config"] = ConfigJson(o, outcome, in);
  Result<Json> calibration = CalibrationJson(outcome);
  if (!calibration.ok()) return calibration.status();
  report["calibration"] = calibration.value();
  report["transformations"] = outcome.transformations;
  // Present only with --equalize: reports without it stay as they were.
  if (o.equalize) {
    Json pairs = Json::array();
    for (const EqualizationRecord& r : outcome.equalization) pairs.push_back(EqualizationJson(r));
    report["equalization"] = pairs;
  }

  Json tensors = Json::array();
  for (const QuantizedTensorRecord& r : outcome.tensors) tensors.push_back(TensorJson(r, in.array_limit));
  report["tensors"] = tensors;
  Json skipped = Json::array();
  for (const SkippedRecord& s : outcome.skipped) {
    skipped.push_back({{"node", s.node}, {"op_type", s.op_type}, {"tensor", s.tensor}, {"reason", s.reason}});
  }
  report["skipped"] = skipped;

  // Summary.
  int64_t weights = 0, biases = 0, activations = 0, params_quantized = 0, params_total = 0;
  std::vector<std::pair<double, std::string>> sqnr;
  // A weight shared by the main graph and bodies (or by several bodies) is
  // quantized once for each but counts once: body records follow the main
  // graph's, and a body copy of a name already counted is not counted.
  std::set<std::string> counted;
  for (const QuantizedTensorRecord& r : outcome.tensors) {
    if (r.role == TensorRole::kWeight) ++weights;
    if (r.role == TensorRole::kBias) ++biases;
    if (r.role == TensorRole::kActivation) ++activations;
    const bool first = r.role != TensorRole::kActivation && counted.insert(r.name).second;
    if (r.role != TensorRole::kActivation && (first || r.graph.empty())) {
      int64_t count = 1;
      for (int64_t d : r.shape) count *= d;
      params_quantized += count;
    }
    if (r.role == TensorRole::kWeight && r.error) sqnr.emplace_back(r.error->sqnr_db, r.name);
  }
  for (const ConstantTensor& c : in.input_model->constants()) params_total += c.element_count;
  params_total += BodyConstantElements(in.input_model->proto().graph());
  std::sort(sqnr.begin(), sqnr.end());
  Json worst = Json::array();
  for (size_t i = 0; i < sqnr.size() && i < 5; ++i) {
    worst.push_back({{"name", sqnr[i].second}, {"sqnr_db", JsonNumber(sqnr[i].first)}});
  }
  report["summary"] = {
      {"nodes_quantized", outcome.nodes_quantized},
      {"tensors_quantized", {{"weights", weights}, {"biases", biases}, {"activations", activations}}},
      {"skipped", outcome.skipped.size()},
      {"parameters_quantized", params_quantized},
      {"parameters_total", params_total},
      {"bytes_before", bytes_before},
      {"bytes_after", bytes_after},
      {"compression_ratio", bytes_after > 0 ? static_cast<double>(bytes_before) / bytes_after : 0.0},
      {"weight_sqnr_db",
       sqnr.empty() ? Json(nullptr)
                    : Json{{"min", JsonNumber(sqnr.front().first)},
                           {"median", JsonNumber(sqnr[sqnr.size() / 2].first)}}},
      {"largest_error", worst},
  };
  report["warnings"] = outcome.warnings;
  report["validation"] = nullptr;
  return report;
}

Status WriteReport(const nlohmann::ordered_json& report, const std::string& path, bool force) {
  return WriteTextFile(report.dump(2) + "\n", path, force);
}

Status WriteTextFile(const std::string& text, const std::string& path, bool force) {
  if (!force && PathExists(path)) {
    return Status::OutputError(path + ": already exists (pass --force to overwrite it)");
  }
  Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  PQ_RETURN_IF_ERROR(file.value()->Write(text.data(), text.size()));
  return file.value()->Commit();
}

}  // namespace pq
