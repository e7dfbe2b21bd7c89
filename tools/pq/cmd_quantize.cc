// pq quantize MODEL -o OUT --scheme S [--calib PATH]… [options]
// Quantizes a model, saves it atomically, writes the JSON report beside it,
// and prints where both went.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/report.h"
#include "pq/validate.h"

namespace pq::cli {
namespace {

// The report's default path: OUT with ".onnx" replaced by ".report.json".
std::string DefaultReportPath(const std::string& output) {
  const std::string suffix = ".onnx";
  if (output.size() > suffix.size() &&
      output.compare(output.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return output.substr(0, output.size() - suffix.size()) + ".report.json";
  }
  return output + ".report.json";
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found;
}

}  // namespace

std::function<int()> SetupQuantize(CLI::App* sub) {
  struct Options {
    std::string model;
    std::string output;
    std::string report;
    std::string granularity = "per-channel";
    std::string op_types = "Conv,MatMul,Gemm";
    std::vector<std::string> exclude_nodes;
    std::vector<std::string> exclude_op_types;
    QuantizeOptions quantize;
    bool force = false;
    bool json = false;
    bool external_data = false;
    ValidationData validation;  // --validate, --labels
    Gates gates;
    bool auto_fallback = false;
    std::string report_detail = "auto";
  };
  auto options = std::make_shared<Options>();
  sub->add_option("MODEL", options->model, "FP32 ONNX model")->required();
  sub->add_option("-o,--output", options->output, "Where to write the quantized model")->required();
  std::vector<std::string> scheme_names;
  for (const auto& [name, summary] : Schemes()) scheme_names.push_back(name);
  sub->add_option("--scheme", options->quantize.scheme, "Quantization scheme (see pq schemes)")
      ->check(CLI::IsMember(scheme_names))
      ->capture_default_str();
  sub->add_option("--calib", options->quantize.calib_paths,
                  "Calibration data: .npy, .npz, a folder of them, or test_data_set_* folders "
                  "(repeatable)");
  std::vector<std::string> methods;
  for (const CalibrationMethod& m : CalibrationMethods()) methods.push_back(m.name);
  sub->add_option("--calib-method", options->quantize.calibration.method, "Calibration method")
      ->check(CLI::IsMember(methods))
      ->capture_default_str();
  sub->add_option("--percentile", options->quantize.calibration.percentile,
                  "Percentile for --calib-method percentile")
      ->check(CLI::Range(50.0, 100.0))
      ->capture_default_str();
  sub->add_option("--calib-batch", options->quantize.calib_batch, "Calibration samples per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--calib-samples", options->quantize.calib_samples,
                  "Use the first N calibration samples (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_flag("--weights-only", options->quantize.weights_only,
                "Quantize weights only (no calibration; activations stay float)");
  sub->add_flag("--symmetric-weights", options->quantize.symmetric_weights,
                "int8-asym: int8 weights with zero point 0 (ONNX Runtime's fast uint8 x int8 "
                "kernels need it)");
  sub->add_option("--block-size", options->quantize.block_size,
                  "Blockwise schemes: elements per block, a power of two from 16 to 4096 "
                  "(default: nf4 64, int4 32)")
      ->check(CLI::Range(int64_t{16}, int64_t{4096}));
  sub->add_option("--nf4-format", options->quantize.nf4_format,
                  "nf4: ort (com.microsoft MatMulBnb4) or onnx (standard ops, still 4-bit on disk)")
      ->check(CLI::IsMember({"ort", "onnx"}))
      ->capture_default_str();
  sub->add_option("--int4-format", options->quantize.int4_format,
                  "int4-sym/int4-asym: ort (com.microsoft MatMulNBits, any opset) or onnx "
                  "(INT4/UINT4 -> DequantizeLinear with block_size; upgrades the model to opset 21)")
      ->check(CLI::IsMember({"ort", "onnx"}))
      ->capture_default_str();
  sub->add_flag("--double-quant", options->quantize.double_quant,
                "nf4 --nf4-format onnx: absmax values quantized to int8 in blocks of 256 (QLoRA)");
  sub->add_option("--fallback", options->quantize.fallback,
                  "Scheme for weights the main scheme does not take (e.g. int8-sym for Conv next "
                  "to nf4); default: leave them FP32")
      ->check(CLI::IsMember(scheme_names));
  sub->add_option("--granularity", options->granularity, "Weight granularity")
      ->check(CLI::IsMember({"per-channel", "per-tensor"}))
      ->capture_default_str();
  sub->add_option("--op-types", options->op_types, "Op types to quantize (comma-separated)")
      ->capture_default_str();
  sub->add_option("--exclude-nodes", options->exclude_nodes, "Node names to leave FP32")
      ->delimiter(',');
  sub->add_option("--exclude-op-types", options->exclude_op_types, "Op types to leave FP32")
      ->delimiter(',');
  sub->add_flag("--no-fold-batchnorm", [options](int64_t) { options->quantize.fold_batchnorm = false; },
                "Keep BatchNormalization nodes instead of folding them into Conv");
  sub->add_option("--report", options->report,
                  "Report path (default: OUTPUT with .onnx replaced by .report.json)");
  sub->add_option("--report-detail", options->report_detail,
                  "Scale/zero-point arrays in the report: auto (longer than 4096 values replaced "
                  "by count, extremes and sha256), summary (longer than 16), or full")
      ->check(CLI::IsMember({"auto", "full", "summary"}))
      ->capture_default_str();
  sub->add_option("--threads", options->quantize.threads, "Threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--external-data", options->external_data, "Store weights in OUTPUT.data");
  sub->add_flag("--force", options->force, "Overwrite existing output and report");
  sub->add_flag("--json", options->json, "Print a JSON summary on stdout");
  sub->add_option("--validate", options->validation.paths,
                  "Validate the quantized model against the FP32 one on this data (repeatable); "
                  "the result goes into the report");
  sub->add_option("--labels", options->validation.labels_path,
                  "With --validate: .npy of integer class indices, one per sample");
  sub->add_option("--validate-batch", options->validation.batch, "With --validate: samples per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  AddGateOptions(sub, &options->gates);
  sub->add_flag("--auto-fallback", options->auto_fallback,
                "When a gate fails, return the most sensitive nodes to FP32 a few at a time "
                "until the gates pass (needs --validate and a gate)");
  return [options]() -> int {
    const auto start = std::chrono::steady_clock::now();
    QuantizeOptions q = options->quantize;
    q.per_channel = options->granularity == "per-channel";
    q.op_types.clear();
    std::string current;
    for (char c : options->op_types + ",") {
      if (c == ',') {
        if (!current.empty()) q.op_types.push_back(current);
        current.clear();
      } else if (c != ' ') {
        current.push_back(c);
      }
    }
    q.exclude_nodes = options->exclude_nodes;
    q.exclude_op_types = options->exclude_op_types;
    const std::string report_path =
        options->report.empty() ? DefaultReportPath(options->output) : options->report;
    // Refuse to replace the input, and existing outputs, before the work.
    for (const std::string& path : {options->output, report_path}) {
      std::error_code ec;
      if (std::filesystem::equivalent(path, options->model, ec)) {
        return Fail(Status::OutputError(path + ": is the input model; refusing to overwrite it"));
      }
    }
    for (const std::string& path : {options->output, report_path}) {
      if (!options->force && Exists(path)) {
        return Fail(Status::OutputError(path + ": already exists (pass --force to overwrite it)"));
      }
    }
    Result<std::unique_ptr<Model>> model = Model::Load(options->model);
    if (!model.ok()) return Fail(model.status());
    for (const std::string& w : model.value()->warnings()) spdlog::warn("{}: {}", options->model, w);
    // The report needs the input files' digests: hash them while quantizing.
    BackgroundHasher input_digests(InputFiles(*model.value()));
    const bool tty = isatty(STDERR_FILENO) != 0;
    int64_t last_logged = -1;
    auto progress = [&](int64_t done, int64_t total) {
      if (tty) {
        const int width = 30;
        const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
        std::fprintf(stderr, "\rcalibrating [%s%s] %lld/%lld", std::string(filled, '#').c_str(),
                     std::string(width - filled, ' ').c_str(), static_cast<long long>(done),
                     static_cast<long long>(total));
        if (done == total) std::fprintf(stderr, "\n");
      } else if (total > 0 && (done * 10 / total != last_logged || done == total)) {
        last_logged = done * 10 / total;
        spdlog::info("calibration: {}/{} samples", done, total);
      }
    };
    const bool validate = !options->validation.paths.empty();
    if (!validate && (!options->gates.empty() || options->auto_fallback ||
                      !options->validation.labels_path.empty())) {
      return Fail(Status::InvalidArgument("gates, --labels and --auto-fallback need --validate PATH"));
    }
    if (options->auto_fallback && options->gates.empty()) {
      return Fail(Status::InvalidArgument("--auto-fallback needs at least one gate (e.g. --min-sqnr)"));
    }
    if (options->gates.max_accuracy_drop_points && options->validation.labels_path.empty()) {
      return Fail(Status::InvalidArgument("--max-accuracy-drop needs --labels PATH"));
    }
    ValidationData validation = options->validation;
    validation.threads = q.threads;
    Result<QuantizeOutcome> outcome = Status::Internal("not quantized");
    nlohmann::ordered_json validation_json = nullptr;
    std::vector<GateResult> gate_results;
    bool gates_passed = true;
    if (validate && options->auto_fallback) {
      Result<FallbackResult> fallback = AutoFallback(*model.value(), q, validation, options->gates);
      if (!fallback.ok()) return Fail(fallback.status());
      validation_json = FallbackToJson(fallback.value(), options->gates);
      const FallbackStep& best = fallback->steps[fallback->best_step];
      gate_results = best.gates;
      gates_passed = fallback->gates_passed;
      for (size_t i = 1; i < fallback->steps.size(); ++i) {
        std::string nodes;
        for (const std::string& n : fallback->steps[i].returned) nodes += (nodes.empty() ? "" : ", ") + n;
        spdlog::info("auto-fallback step {}: returned {} to FP32 ({})", i, nodes,
                     fallback->steps[i].passed ? "gates pass" : "gates still fail");
      }
      outcome = std::move(fallback->best);
    } else {
      outcome = Quantize(*model.value(), q, progress);
      if (!outcome.ok()) return Fail(outcome.status());
      if (validate) {
        Result<Comparison> comparison = Compare(*model.value(), *outcome->model, validation);
        if (!comparison.ok()) return Fail(comparison.status());
        Result<std::vector<GateResult>> results = EvaluateGates(comparison.value(), options->gates);
        if (!results.ok()) return Fail(results.status());
        gate_results = results.value();
        gates_passed = AllGatesPassed(gate_results);
        validation_json = ValidationToJson(comparison.value(), options->gates, gate_results);
      }
    }
    for (const std::string& w : outcome->warnings) spdlog::warn("{}", w);
    for (const std::string& t : outcome->transformations) spdlog::info("{}", t);
    SaveOptions save;
    save.force = options->force;
    save.external_data = options->external_data;
    save.never_overwrite = {options->model};
    Result<SaveResult> saved = SaveModel(*outcome->model, options->output, save);
    if (!saved.ok()) return Fail(saved.status());
    ReportInputs inputs;
    Result<std::map<std::string, std::string>> digests = input_digests.Wait();
    if (digests.ok()) inputs.known_sha256 = std::move(digests).value();  // else BuildReport retries
    inputs.argv = CommandLine();
    inputs.input_model = model.value().get();
    inputs.output = &saved.value();
    inputs.options = &q;
    inputs.report_path = report_path;
    inputs.array_limit = options->report_detail == "summary" ? kReportSummaryArrayLimit
                         : options->report_detail == "auto"  ? kReportAutoArrayLimit
                                                             : SIZE_MAX;
    Result<nlohmann::ordered_json> report = BuildReport(inputs, *outcome);
    if (report.ok()) report.value()["validation"] = validation_json;
    Status written = report.ok() ? WriteReport(report.value(), report_path, options->force)
                                 : report.status();
    if (!written.ok()) {
      // Never leave a model without its report.
      std::filesystem::remove(saved->model_path);
      if (!saved->data_path.empty()) std::filesystem::remove(saved->data_path);
      return Fail(written);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto& summary = report.value()["summary"];
    if (options->json) {
      nlohmann::ordered_json doc;
      doc["model"] = saved->model_path;
      doc["report"] = report_path;
      doc["external_data"] = saved->data_path.empty() ? nlohmann::ordered_json(nullptr)
                                                      : nlohmann::ordered_json(saved->data_path);
      doc["scheme"] = q.scheme;
      doc["nodes_quantized"] = outcome->nodes_quantized;
      doc["tensors_quantized"] = outcome->tensors.size();
      doc["skipped"] = outcome->skipped.size();
      doc["bytes_before"] = summary["bytes_before"];
      doc["bytes_after"] = summary["bytes_after"];
      doc["seconds"] = seconds;
      std::cout << doc.dump(2) << "\n";
    } else {
      std::cout << "model:  " << saved->model_path << "\n";
      std::cout << "report: " << report_path << "\n";
      std::cout << "scheme " << q.scheme << (q.weights_only ? " (weights only)" : "") << ": "
                << outcome->nodes_quantized << " nodes, " << outcome->tensors.size()
                << " tensors quantized, " << outcome->skipped.size() << " skipped; "
                << summary["bytes_before"].get<int64_t>() << " -> "
                << summary["bytes_after"].get<int64_t>() << " bytes\n";
    }
    // A failed gate still leaves the (best) model and its report: the
    // report says why it was refused.
    for (const GateResult& g : gate_results) {
      if (!g.passed) spdlog::error("{}", DescribeGate(g));
    }
    return gates_passed ? kExitOk : kExitGateFailed;
  };
}

}  // namespace pq::cli
