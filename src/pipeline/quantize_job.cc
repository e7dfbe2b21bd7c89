// RunQuantizeJob: load -> quantize (with validation / auto-fallback) -> save
// -> report, with the report's input digests computed while quantizing.
#include "pq/quantize_job.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "pq/attestation.h"
#include "pq/calibration_stats.h"
#include "report/report_parts.h"
#include "util/sha256.h"

namespace pq {
namespace {

// What quantizing (and validating) produced, before anything is saved.
struct Quantized {
  QuantizeOutcome outcome;
  nlohmann::ordered_json validation = nullptr;
  std::vector<GateResult> gates;
  bool gates_passed = true;
  // What the scheme took before any auto-fallback, and the nodes the
  // fallback returned to FP32.
  int64_t nodes_taken = 0;
  std::vector<std::string> returned_to_fp32;
};

Status CheckValidationArguments(const QuantizeJob& job) {
  const bool validate = !job.validation.paths.empty();
  if (!validate && (!job.gates.empty() || job.auto_fallback || !job.validation.labels_path.empty() ||
                    !job.validation.groups_path.empty() || !job.junit_path.empty())) {
    return Status::InvalidArgument("gates, --labels, --groups, --junit and --auto-fallback need --validate PATH");
  }
  if (job.gates.max_group_drop_points &&
      (job.validation.labels_path.empty() || job.validation.groups_path.empty())) {
    return Status::InvalidArgument("--max-group-drop needs --labels PATH and --groups PATH");
  }
  if (job.auto_fallback && job.gates.empty()) {
    return Status::InvalidArgument("--auto-fallback needs at least one gate (e.g. --min-sqnr)");
  }
  if (job.gates.max_accuracy_drop_points && job.validation.labels_path.empty()) {
    return Status::InvalidArgument("--max-accuracy-drop needs --labels PATH");
  }
  return Status::OK();
}

void Tell(const std::function<void(const std::string&)>& to, const std::string& message) {
  if (to) to(message);
}

// Whether `s` is a weight the user asked for that the scheme did not take
// (not one auto-fallback returned to FP32).
bool AskedFor(const SkippedRecord& s, const std::vector<std::string>& returned) {
  return s.weight_not_taken && std::find(returned.begin(), returned.end(), s.node) == returned.end();
}

// The requested nodes the scheme did not take, grouped by reason (in first-
// seen order): "<reason> (<count> node(s): a, b, c…)".
std::vector<std::string> NotTaken(const Quantized& q) {
  constexpr size_t kNamesShown = 3;
  std::vector<std::string> reasons;
  std::map<std::string, std::vector<std::string>> nodes;
  for (const SkippedRecord& s : q.outcome.skipped) {
    if (!AskedFor(s, q.returned_to_fp32)) continue;
    if (nodes.count(s.reason) == 0) reasons.push_back(s.reason);
    nodes[s.reason].push_back(s.node);
  }
  std::vector<std::string> lines;
  for (const std::string& reason : reasons) {
    const std::vector<std::string>& names = nodes[reason];
    std::string list;
    for (size_t i = 0; i < names.size() && i < kNamesShown; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > kNamesShown) list += ", …";
    lines.push_back(reason + " (" + std::to_string(names.size()) + " node(s): " + list + ")");
  }
  return lines;
}

// Errors (kInvalidInput) when nothing was quantized, naming why.
Status CheckSomethingQuantized(const QuantizeJob& job, const Quantized& q) {
  if (q.nodes_taken > 0 || job.allow_unchanged) return Status::OK();
  const std::vector<std::string> why = NotTaken(q);
  std::string ops;
  for (const std::string& op : job.quantize.op_types) ops += (ops.empty() ? "" : ", ") + op;
  std::string message = job.model_path + ": scheme " + job.quantize.scheme + " quantized nothing: ";
  if (why.empty()) {
    message += "no " + ops + " node with a float32, float16 or bfloat16 weight to quantize";
  } else {
    for (size_t i = 0; i < why.size(); ++i) message += (i ? "; " : "") + why[i];
  }
  return Status::InvalidInput(message + " (--allow-unchanged writes the model anyway)");
}

// Auto-fallback: the best step's model, its validation and the steps taken.
Result<Quantized> QuantizeWithFallback(const Model& model, const QuantizeJob& job,
                                       const ValidationData& validation, const QuantizeJobEvents& events) {
  Result<FallbackResult> fallback = AutoFallback(model, job.quantize, validation, job.gates);
  if (!fallback.ok()) return fallback.status();
  Quantized q;
  q.validation = FallbackToJson(fallback.value(), job.gates);
  q.gates = fallback->steps[fallback->best_step].gates;
  q.gates_passed = fallback->gates_passed;
  for (size_t i = 1; i < fallback->steps.size(); ++i) {
    std::string nodes;
    for (const std::string& n : fallback->steps[i].returned) nodes += (nodes.empty() ? "" : ", ") + n;
    Tell(events.info, "auto-fallback step " + std::to_string(i) + ": returned " + nodes + " to FP32 (" +
                          (fallback->steps[i].passed ? "gates pass" : "gates still fail") + ")");
  }
  q.nodes_taken = fallback->steps.front().nodes_quantized;
  q.returned_to_fp32 = fallback->steps[fallback->best_step].excluded;
  q.outcome = std::move(fallback->best);
  return q;
}

Result<Quantized> QuantizeAndValidate(const Model& model, const QuantizeJob& job,
                                      const QuantizeJobEvents& events) {
  ValidationData validation = job.validation;
  validation.threads = job.quantize.threads;
  const bool validate = !job.validation.paths.empty();
  if (validate && job.auto_fallback) return QuantizeWithFallback(model, job, validation, events);
  Quantized q;
  Result<QuantizeOutcome> outcome = Quantize(model, job.quantize, events.calibration_progress);
  if (!outcome.ok()) return outcome.status();
  q.outcome = std::move(outcome).value();
  q.nodes_taken = q.outcome.nodes_quantized;
  if (!validate) return q;
  Result<Comparison> comparison = Compare(model, *q.outcome.model, validation);
  if (!comparison.ok()) return comparison.status();
  Result<std::vector<GateResult>> results = EvaluateGates(comparison.value(), job.gates);
  if (!results.ok()) return results.status();
  q.gates = std::move(results).value();
  q.gates_passed = AllGatesPassed(q.gates);
  q.validation = ValidationToJson(comparison.value(), job.gates, q.gates);
  return q;
}

// Removes what SaveModel wrote (the model and its external data).
void RemoveSaved(const SaveResult& saved) {
  std::error_code ec;
  std::filesystem::remove(saved.model_path, ec);
  if (!saved.data_path.empty()) std::filesystem::remove(saved.data_path, ec);
}

// Builds and writes the report; on failure removes the saved model again.
Result<nlohmann::ordered_json> WriteReportOrRollBack(const QuantizeJob& job, const Model& model,
                                                     const Quantized& q, const SaveResult& saved,
                                                     const std::string& report_path,
                                                     BackgroundHasher* input_digests) {
  ReportInputs inputs;
  Result<std::map<std::string, std::string>> digests = input_digests->Wait();
  if (digests.ok()) inputs.known_sha256 = std::move(digests).value();  // else BuildReport retries
  // The data file was hashed as it was written.
  if (!saved.data_sha256.empty()) inputs.known_sha256[saved.data_path] = saved.data_sha256;
  inputs.argv = job.argv;
  inputs.input_model = &model;
  inputs.output = &saved;
  inputs.options = &job.quantize;
  inputs.report_path = report_path;
  inputs.array_limit = job.report_array_limit;
  Result<nlohmann::ordered_json> report = BuildReport(inputs, q.outcome);
  if (report.ok()) report.value()["validation"] = q.validation;
  Status written = report.ok() ? WriteReport(report.value(), report_path, job.force) : report.status();
  if (written.ok()) return report;
  RemoveSaved(saved);  // never leave a model without its report
  return written;
}

// What the attestation of the run says (pq/attestation.h).
AttestationInputs AttestationOf(const QuantizeJob& job, const SaveResult& saved, const std::string& report_path,
                                const nlohmann::ordered_json& report, const std::string& started_on) {
  AttestationInputs in;
  in.subjects = {saved.model_path};
  if (!saved.data_path.empty()) in.subjects.push_back(saved.data_path);
  in.report = &report;
  in.report_path = report_path;
  if (!job.junit_path.empty()) in.byproducts.push_back(job.junit_path);
  in.validation_files = job.validation.paths;
  for (const std::string* path :
       {&job.validation.labels_path, &job.validation.groups_path, &job.validation.group_names_path}) {
    if (!path->empty()) in.validation_files.push_back(*path);
  }
  in.started_on = started_on;
  in.finished_on = UtcTimestamp();
  return in;
}

}  // namespace

std::string DefaultReportPath(const std::string& output) {
  for (const std::string suffix : {".onnx", ".gguf"}) {
    if (output.size() > suffix.size() &&
        output.compare(output.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return output.substr(0, output.size() - suffix.size()) + ".report.json";
    }
  }
  return output + ".report.json";
}

std::vector<std::string> SplitNameList(const std::string& list) {
  std::vector<std::string> out;
  std::string current;
  for (char c : list + ",") {
    if (c == ',') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else if (c != ' ') {
      current.push_back(c);
    }
  }
  return out;
}

namespace {

// `job` with the statistics of job.calib_stats_path loaded and checked
// against the model file; warns when they cover only some shards.
Result<QuantizeJob> WithStatistics(const QuantizeJob& job, const QuantizeJobEvents& events) {
  QuantizeJob out = job;
  if (job.calib_stats_path.empty()) return out;
  Result<CalibrationStatistics> stats = ReadCalibrationStatistics(job.calib_stats_path);
  if (!stats.ok()) return stats.status();
  Result<std::string> model_sha = Sha256File(job.model_path);
  if (!model_sha.ok()) return model_sha.status();
  PQ_RETURN_IF_ERROR(CheckStatisticsModel(stats.value(), job.model_path, model_sha.value()));
  if (!stats->complete()) {
    std::string shards;
    for (const StatisticsShard& s : stats->shards) shards += (shards.empty() ? "" : ", ") + std::to_string(s.index);
    Tell(events.warn, job.calib_stats_path + " holds shards " + shards + " of " + std::to_string(stats->shard_count) +
                          " only: the ranges come from part of the calibration data");
  }
  out.quantize.calibration_statistics = std::make_shared<const CalibrationStatistics>(std::move(stats).value());
  return out;
}

}  // namespace

Result<QuantizeJobResult> RunQuantizeJob(const QuantizeJob& given, const QuantizeJobEvents& events) {
  Result<QuantizeJob> loaded = WithStatistics(given, events);
  if (!loaded.ok()) return loaded.status();
  const QuantizeJob& job = loaded.value();
  const std::string report_path = job.report_path.empty() ? DefaultReportPath(job.output_path) : job.report_path;
  PQ_RETURN_IF_ERROR(CheckValidationArguments(job));
  std::vector<std::string> outputs = {job.output_path, report_path};
  if (!job.junit_path.empty()) outputs.push_back(job.junit_path);
  if (!job.attestation_path.empty()) outputs.push_back(job.attestation_path);
  PQ_RETURN_IF_ERROR(CheckOutputPaths(outputs, {job.model_path}, job.force));
  const std::string started_on = UtcTimestamp();
  Result<std::unique_ptr<Model>> model = Model::Load(job.model_path);
  if (!model.ok()) return model.status();
  for (const std::string& w : model.value()->warnings()) Tell(events.warn, job.model_path + ": " + w);
  // The report needs the input files' digests: hash them while quantizing.
  BackgroundHasher input_digests(InputFiles(*model.value()));
  Result<Quantized> q = QuantizeAndValidate(*model.value(), job, events);
  if (!q.ok()) return q.status();
  PQ_RETURN_IF_ERROR(CheckSomethingQuantized(job, q.value()));
  for (const std::string& line : NotTaken(q.value())) Tell(events.warn, "left FP32: " + line);
  for (const std::string& w : q->outcome.warnings) Tell(events.warn, w);
  for (const std::string& t : q->outcome.transformations) Tell(events.info, t);
  SaveOptions save;
  save.force = job.force;
  save.external_data = job.external_data;
  save.never_overwrite = {job.model_path};
  Result<SaveResult> saved = SaveModel(*q->outcome.model, job.output_path, save);
  if (!saved.ok()) return saved.status();
  Result<nlohmann::ordered_json> report =
      WriteReportOrRollBack(job, *model.value(), q.value(), saved.value(), report_path, &input_digests);
  if (!report.ok()) return report.status();
  // Never leave a model and report whose promised JUnit file or attestation
  // is missing.
  auto roll_back = [&](const Status& s) {
    RemoveSaved(saved.value());
    std::error_code ec;
    std::filesystem::remove(report_path, ec);
    if (!job.junit_path.empty()) std::filesystem::remove(job.junit_path, ec);
    return s;
  };
  if (!job.junit_path.empty()) {
    const Status junit = WriteTextFile(GatesToJunit("pq quantize " + job.model_path, q->gates),
                                       job.junit_path, job.force);
    if (!junit.ok()) return roll_back(junit);
  }
  if (!job.attestation_path.empty()) {
    const Status attested = WriteAttestation(AttestationOf(job, saved.value(), report_path, report.value(),
                                                           started_on),
                                             job.attestation_path, job.force);
    if (!attested.ok()) return roll_back(attested);
  }
  QuantizeJobResult result;
  result.saved = std::move(saved).value();
  result.report_path = report_path;
  result.report = std::move(report).value();
  result.nodes_quantized = q->outcome.nodes_quantized;
  result.tensors_quantized = static_cast<int64_t>(q->outcome.tensors.size());
  result.skipped = static_cast<int64_t>(q->outcome.skipped.size());
  result.gates = std::move(q->gates);
  result.gates_passed = q->gates_passed;
  return result;
}

}  // namespace pq
