// pq quantize MODEL -o OUT --scheme S [--calib PATH]… [options]
// (OUT.gguf with a gguf-* scheme: a GGUF file for llama.cpp, see GgufJob)
// Maps flags to a QuantizeJob, runs it (quantize, save, report, validate),
// prints where the model and report went, and maps the outcome to an exit
// code (4 when a validation gate failed; the model and report still exist).
#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "progress_reporter.h"
#include "pq/gguf_job.h"
#include "pq/quantize_job.h"
#include "quantize_flags.h"
#include "quantize_gguf.h"
#include "quantize_summary.h"

namespace pq::cli {
namespace {

struct Options {
  QuantizeJob job;
  QuantizeFlags quantize;
  int64_t context_length = 0;  // GGUF outputs
  std::string task = "auto";
  std::string report_detail = "auto";
  bool json = false;
};

size_t ArrayLimit(const std::string& detail) {
  if (detail == "summary") return kReportSummaryArrayLimit;
  if (detail == "auto") return kReportAutoArrayLimit;
  return SIZE_MAX;
}

void AddOutputFlags(CLI::App* sub, Options* o) {
  sub->add_option("MODEL", o->job.model_path, "FP32 ONNX model")->required();
  sub->add_option("-o,--output", o->job.output_path,
                  "Where to write the quantized model (.onnx; .gguf with a gguf-* scheme)")
      ->required();
  sub->add_option("--context-length", o->context_length,
                  "GGUF output: the context length written into the file, required when the model "
                  "computes rotary angles at run time (no position table to read it from)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--report", o->job.report_path,
                  "Report path (default: OUTPUT with .onnx replaced by .report.json)");
  sub->add_option("--report-detail", o->report_detail,
                  "Scale/zero-point arrays in the report: auto (longer than 4096 values replaced "
                  "by count, extremes and sha256), summary (longer than 16), or full")
      ->check(CLI::IsMember({"auto", "full", "summary"}))
      ->capture_default_str();
  sub->add_option("--attestation", o->job.attestation_path,
                  "Also write an in-toto statement with SLSA provenance (outputs, inputs and report with sha256)");
  sub->add_option("--calib-stats", o->job.calib_stats_path,
                  "Activation statistics from pq calibrate (.pqcal) instead of --calib: the model is not "
                  "run; --calib-method chooses the ranges from them");
  sub->add_flag("--external-data", o->job.external_data, "Store weights in OUTPUT.data");
  sub->add_flag("--force", o->job.force, "Overwrite existing output and report");
  sub->add_flag("--allow-unchanged", o->job.allow_unchanged,
                "Write the model even when the scheme quantizes nothing (else exit 3)");
  sub->add_flag("--json", o->json, "Print a JSON summary on stdout");
}

void AddValidationFlags(CLI::App* sub, Options* o) {
  sub->add_option("--validate", o->job.validation.paths,
                  "Validate the quantized model against the FP32 one on this data (repeatable); "
                  "the result goes into the report");
  sub->add_option("--labels", o->job.validation.labels_path,
                  "With --validate: .npy of integer class indices, one per sample");
  sub->add_option("--groups", o->job.validation.groups_path,
                  "With --validate: .npy of integer group ids, one per sample (accuracy and flips per group)");
  sub->add_option("--group-names", o->job.validation.group_names_path,
                  "With --validate: text file naming the groups, line i for group id i");
  sub->add_option("--validate-batch", o->job.validation.batch, "With --validate: samples per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--task", o->task, "With --validate: which metrics (auto, classification, other, lm)")
      ->check(CLI::IsMember({"auto", "classification", "other", "lm"}))
      ->capture_default_str();
  AddGateOptions(sub, &o->job.gates);
  // Off by default: timings differ from run to run, and the report of the
  // same work must stay byte-identical.
  AddSpeedOptions(sub, &o->job.validation, 0);
  sub->add_option("--junit", o->job.junit_path,
                  "With --validate: write the gates as JUnit XML (one testcase per gate) for CI");
  sub->add_flag("--auto-fallback", o->job.auto_fallback,
                "When a gate fails, return the most sensitive nodes to FP32 a few at a time "
                "until the gates pass (needs --validate and a gate)");
}

// The job's events on stderr: a progress bar (or log lines) for
// calibration, info and warnings through the logger.
QuantizeJobEvents LoggedEvents() {
  const ProgressFn progress = MakeProgressReporter();
  QuantizeJobEvents events;
  events.calibration_progress = [progress](int64_t done, int64_t total) { progress("calibration", done, total); };
  events.info = [](const std::string& m) { spdlog::info("{}", m); };
  events.warn = [](const std::string& m) { spdlog::warn("{}", m); };
  return events;
}

}  // namespace

std::function<int()> SetupQuantize(CLI::App* sub) {
  auto options = std::make_shared<Options>();
  AddOutputFlags(sub, options.get());
  AddQuantizeFlags(sub, &options->quantize, /*gguf_schemes=*/true);
  AddValidationFlags(sub, options.get());
  return [options, sub]() -> int {
    const auto start = std::chrono::steady_clock::now();
    QuantizeJob job = options->job;
    job.quantize = QuantizeOptionsFrom(options->quantize);
    const Status overrides = ReadOverridesOfConfig(*sub, &job.quantize);
    if (!overrides.ok()) return Fail(overrides);
    if (IsGgufPath(job.output_path) || IsGgufScheme(job.quantize.scheme)) {
      // A gguf-* scheme with another output is refused before RunGguf
      // refuses ONNX-only flags; RunGguf checks the other direction.
      if (!IsGgufPath(job.output_path)) return Fail(CheckGgufOutput(job.quantize.scheme, job.output_path));
      return RunGgufQuantize(job, options->context_length, options->json, LoggedEvents());
    }
    Result<TaskKind> task = ParseTaskKind(options->task);
    if (!task.ok()) return Fail(task.status());
    job.validation.task = task.value();
    job.validation.tokens = job.quantize.calib_tokens;  // --context, --tokenizer serve both
    job.report_array_limit = ArrayLimit(options->report_detail);
    job.argv = CommandLine();
    Result<QuantizeJobResult> result = RunQuantizeJob(job, LoggedEvents());
    if (!result.ok()) return Fail(result.status());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    PrintQuantizeSummary(result.value(), job.quantize, options->json, seconds);
    // A failed gate still leaves the (best) model and its report: the
    // report says why it was refused.
    for (const GateResult& g : result->gates) {
      if (!g.passed) spdlog::error("{}", DescribeGate(g));
    }
    return result->gates_passed ? kExitOk : kExitGateFailed;
  };
}

}  // namespace pq::cli
