// pq compare REF CAND --data PATH… [--labels PATH] [--batch N] [--task T]
//   [gates] [--threads N] [--json]
// Compares two models on the same data; any failed gate exits 4 with one
// stderr line per failed gate.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "progress_reporter.h"
#include "pq/model.h"
#include "pq/report.h"
#include "pq/validate.h"

namespace pq::cli {
namespace {

// pq compare times both models by default: it prints to stdout, where
// timings that vary from run to run make no file irreproducible.
constexpr int kDefaultCompareTimingRuns = 5;

std::string Figure(double v, const char* format = "%.4g") {
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), format, v);
  return buffer;
}

std::string Percent(int64_t part, int64_t whole) {
  return whole > 0 ? Figure(100.0 * static_cast<double>(part) / static_cast<double>(whole), "%.2f%%")
                   : "-";
}

void PrintClassification(const std::string& name, const ClassificationMetrics& m) {
  std::printf("\nclassification '%s': %lld classes, %lld rows, top-1 agreement %s, flip rate %s\n",
              name.c_str(), static_cast<long long>(m.classes), static_cast<long long>(m.rows),
              Figure(100 * m.top1_agreement, "%.2f%%").c_str(),
              Figure(100 * m.flip_rate, "%.2f%%").c_str());
  if (m.has_labels) {
    std::printf("accuracy: reference %s, candidate %s, drop %s points\n",
                Figure(100 * m.reference_accuracy, "%.2f%%").c_str(),
                Figure(100 * m.candidate_accuracy, "%.2f%%").c_str(),
                Figure(m.accuracy_drop_points, "%.2f").c_str());
  }
  std::printf("%-6s %9s %8s %10s", "class", "ref-pred", "flipped", "flip-rate");
  if (m.has_labels) std::printf(" %9s %9s %9s %8s", "labelled", "ref-acc", "cand-acc", "drop");
  std::printf("\n");
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassStats& s = m.per_class[c];
    std::printf("%-6zu %9lld %8lld %10s", c, static_cast<long long>(s.reference_predicted),
                static_cast<long long>(s.flipped), Percent(s.flipped, s.reference_predicted).c_str());
    if (m.has_labels) {
      const std::string drop =
          s.labelled > 0 ? Figure(100.0 * static_cast<double>(s.reference_correct - s.candidate_correct) /
                                      static_cast<double>(s.labelled),
                                  "%.2f")
                         : "-";
      std::printf(" %9lld %9s %9s %8s", static_cast<long long>(s.labelled),
                  Percent(s.reference_correct, s.labelled).c_str(),
                  Percent(s.candidate_correct, s.labelled).c_str(), drop.c_str());
    }
    std::printf("\n");
  }
  if (m.worst_group < 0) return;
  std::printf("\n%-16s %9s %8s %10s", "group", "rows", "flipped", "flip-rate");
  if (m.has_labels) std::printf(" %9s %9s %8s", "ref-acc", "cand-acc", "drop");
  std::printf("\n");
  for (const GroupStats& g : m.per_group) {
    std::printf("%-16s %9lld %8lld %10s", g.name.c_str(), static_cast<long long>(g.rows),
                static_cast<long long>(g.flipped), Percent(g.flipped, g.rows).c_str());
    if (m.has_labels) {
      std::printf(" %9s %9s %8s", Percent(g.reference_correct, g.rows).c_str(),
                  Percent(g.candidate_correct, g.rows).c_str(), Figure(g.DropPoints(), "%.2f").c_str());
    }
    std::printf("\n");
  }
  std::printf("worst group: %s\n", m.per_group[static_cast<size_t>(m.worst_group)].name.c_str());
}

void PrintLm(const LmMetrics& m) {
  std::printf("\nlanguage model '%s': %lld positions\n", m.output.c_str(),
              static_cast<long long>(m.positions));
  std::printf("perplexity: reference %s, candidate %s, ratio %s (%s%%)\n",
              Figure(m.perplexity_ref, "%.6g").c_str(), Figure(m.perplexity_cand, "%.6g").c_str(),
              Figure(m.perplexity_ratio, "%.5f").c_str(),
              Figure(m.PerplexityIncreasePercent(), "%+.3f").c_str());
  std::printf("KL divergence: mean %s, median %s, p99 %s, max %s\n", Figure(m.kld_mean, "%.5g").c_str(),
              Figure(m.kld_median, "%.5g").c_str(), Figure(m.kld_p99, "%.5g").c_str(),
              Figure(m.kld_max, "%.5g").c_str());
  std::printf("top-1 agreement: %s\n", Figure(100 * m.top1_agreement, "%.2f%%").c_str());
}

// Both models' speed on pq's executor, and what it buys.
void PrintSpeed(const Throughput& reference, const Throughput& candidate) {
  std::printf("\nspeed on pq's executor (%d threads, batch %lld, median of %d runs):\n", reference.threads,
              static_cast<long long>(reference.batch), reference.runs);
  for (const auto& [name, t] : {std::pair<const char*, const Throughput*>{"reference", &reference},
                                {"candidate", &candidate}}) {
    std::printf("  %-10s %10.4f ms/sample %10.1f samples/s", name, t->ms_per_sample, t->samples_per_second);
    if (t->quality_per_ms) std::printf("   %s per ms %.4g", t->quality.c_str(), *t->quality_per_ms);
    if (t->cost_per_1000) std::printf("   cost per 1000 requests %.6g", *t->cost_per_1000);
    std::printf("\n");
  }
}

void PrintTable(const Comparison& c, const std::vector<GateResult>& gates) {
  std::printf("reference: %s (%lld bytes)\n", c.reference.c_str(),
              static_cast<long long>(c.reference_bytes));
  std::printf("candidate: %s (%lld bytes, ratio %s)\n", c.candidate.c_str(),
              static_cast<long long>(c.candidate_bytes), Figure(c.size_ratio, "%.3f").c_str());
  std::printf("samples:   %lld (batch %lld)\n\n", static_cast<long long>(c.samples),
              static_cast<long long>(c.batch));
  std::printf("%-24s %10s %10s %12s %12s\n", "output", "SQNR dB", "cosine", "max abs", "mean abs");
  for (const OutputComparison& o : c.outputs) {
    std::printf("%-24s %10s %10s %12s %12s\n", o.name.c_str(), Figure(o.sqnr_db, "%.2f").c_str(),
                Figure(o.cosine, "%.6f").c_str(), Figure(o.max_abs_error).c_str(),
                Figure(o.mean_abs_error).c_str());
    if (o.non_finite_mismatches > 0) {
      std::printf("  %lld elements where only one model is finite\n",
                  static_cast<long long>(o.non_finite_mismatches));
    }
  }
  for (const OutputComparison& o : c.outputs) {
    if (o.classification) PrintClassification(o.name, *o.classification);
  }
  if (c.lm) PrintLm(*c.lm);
  if (c.reference_speed && c.candidate_speed) PrintSpeed(*c.reference_speed, *c.candidate_speed);
  if (gates.empty()) return;
  std::printf("\ngates:\n");
  for (const GateResult& g : gates) std::printf("  %s\n", DescribeGate(g).c_str());
}

}  // namespace

std::function<int()> SetupCompare(CLI::App* sub) {
  struct Options {
    std::string reference;
    std::string candidate;
    ValidationData data;
    std::vector<std::string> text;
    std::string task = "auto";
    Gates gates;
    bool json = false;
    std::string junit;
    bool force = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("REF", options->reference, "Reference (FP32) ONNX model")->required();
  sub->add_option("CAND", options->candidate, "Candidate (quantized) ONNX model")->required();
  sub->add_option("--data", options->data.paths,
                  ".npy, .npz, a folder of them, or test_data_set_* folders; for a decoder LLM "
                  "token ids [N, T] or .txt with --tokenizer");
  sub->add_option("--labels", options->data.labels_path, ".npy of integer class indices, one per sample");
  sub->add_option("--groups", options->data.groups_path,
                  ".npy of integer group ids, one per sample: accuracy and flips per group");
  sub->add_option("--group-names", options->data.group_names_path,
                  "Text file naming the groups, line i for group id i");
  sub->add_option("--batch", options->data.batch, "Samples per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--task", options->task, "Metrics: auto, classification, other, or lm (perplexity and KL divergence of a decoder's logits)")
      ->check(CLI::IsMember({"auto", "classification", "other", "lm"}))
      ->capture_default_str();
  AddTextDataOptions(sub, &options->text, &options->data.tokens);
  AddGateOptions(sub, &options->gates);
  AddSpeedOptions(sub, &options->data, kDefaultCompareTimingRuns);
  sub->add_option("--threads", options->data.threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_flag("--json", options->json, "Print the comparison as JSON on stdout");
  sub->add_option("--junit", options->junit, "Write the gates as JUnit XML (one testcase per gate) for CI");
  sub->add_flag("--force", options->force, "Overwrite an existing --junit file");
  return [options]() -> int {
    ValidationData data = options->data;
    data.paths.insert(data.paths.end(), options->text.begin(), options->text.end());
    if (data.paths.empty()) return Fail(Status::InvalidArgument("give --data PATH or --text FILE"));
    Result<TaskKind> task = ParseTaskKind(options->task);
    if (!task.ok()) return Fail(task.status());
    data.task = task.value();
    if (options->gates.max_accuracy_drop_points && data.labels_path.empty()) {
      return Fail(Status::InvalidArgument("--max-accuracy-drop needs --labels PATH"));
    }
    if (options->gates.max_group_drop_points && (data.labels_path.empty() || data.groups_path.empty())) {
      return Fail(Status::InvalidArgument("--max-group-drop needs --labels PATH and --groups PATH"));
    }
    if (!options->junit.empty()) {
      std::vector<std::string> inputs = {options->reference, options->candidate};
      inputs.insert(inputs.end(), data.paths.begin(), data.paths.end());
      const Status paths = CheckOutputPaths({options->junit}, inputs, options->force);
      if (!paths.ok()) return Fail(paths);
    }
    Result<std::unique_ptr<Model>> reference = Model::Load(options->reference);
    if (!reference.ok()) return Fail(reference.status());
    Result<std::unique_ptr<Model>> candidate = Model::Load(options->candidate);
    if (!candidate.ok()) return Fail(candidate.status());
    // Comparing streams quickly: a bar on a terminal, no log lines otherwise.
    const ProgressFn progress = isatty(STDERR_FILENO) != 0 ? MakeProgressReporter() : ProgressFn();
    Result<Comparison> comparison = Compare(*reference.value(), *candidate.value(), data, progress);
    if (!comparison.ok()) return Fail(comparison.status());
    Result<std::vector<GateResult>> gates = EvaluateGates(comparison.value(), options->gates);
    if (!gates.ok()) return Fail(gates.status());
    if (!options->junit.empty()) {
      const Status written = WriteTextFile(
          GatesToJunit("pq compare " + options->reference + " " + options->candidate, gates.value()),
          options->junit, options->force);
      if (!written.ok()) return Fail(written);
    }
    if (options->json) {
      std::cout << ValidationToJson(comparison.value(), options->gates, gates.value()).dump(2) << "\n";
    } else {
      PrintTable(comparison.value(), gates.value());
    }
    std::fflush(stdout);
    for (const GateResult& g : gates.value()) {
      if (!g.passed) spdlog::error("{}", DescribeGate(g));
    }
    return AllGatesPassed(gates.value()) ? kExitOk : kExitGateFailed;
  };
}

}  // namespace pq::cli
