// pq analyze MODEL --scheme S --calib PATH… --data PATH… [--min-sqnr DB]
//   [--json]
// Per-node sensitivity: the model output SQNR with only that node quantized,
// the activation SQNR at the node with every node quantized, ranked, and a
// suggested --exclude-nodes list that reaches --min-sqnr.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "progress_reporter.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/validate.h"
#include "quantize_flags.h"

namespace pq::cli {
namespace {

std::string Figure(double v, const char* format) {
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), format, v);
  return buffer;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

void PrintReport(const std::string& model, const SensitivityReport& r) {
  std::printf("model: %s, scheme %s, %lld samples\n", model.c_str(), r.scheme.c_str(),
              static_cast<long long>(r.samples));
  const bool lm = r.all_quantized_kld_mean.has_value();
  std::printf("every node quantized: output SQNR %s dB, %s %s\n\n",
              Figure(r.all_quantized_sqnr_db, "%.2f").c_str(), lm ? "mean KLD" : "flip rate",
              lm ? Figure(*r.all_quantized_kld_mean, "%.5g").c_str()
                 : Figure(100 * r.all_quantized_flip_rate, "%.2f%%").c_str());
  std::printf("%-4s %-32s %-10s %16s %10s %22s\n", "rank", "node (quantized alone)", "op",
              "output SQNR dB", lm ? "mean KLD" : "flip rate", "act. SQNR dB (all q.)");
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    const NodeSensitivity& n = r.nodes[i];
    const std::string second =
        n.kld_mean ? Figure(*n.kld_mean, "%.5g") : Figure(100 * n.flip_rate, "%.2f%%");
    std::printf("%-4zu %-32s %-10s %16s %10s %22s\n", i + 1, n.node.c_str(), n.op_type.c_str(),
                Figure(n.output_sqnr_db, "%.2f").c_str(), second.c_str(),
                n.activation_sqnr_db ? Figure(*n.activation_sqnr_db, "%.2f").c_str() : "-");
  }
  for (const std::string& u : r.unnamed_nodes) {
    std::printf("(node %s has no name and cannot be excluded on its own)\n", u.c_str());
  }
  if (!r.target_sqnr_db) return;
  std::printf("\n");
  for (const SuggestionStep& s : r.suggestion) {
    std::printf("excluding %2zu -> output SQNR %8s dB: %s\n", s.excluded.size(),
                Figure(s.output_sqnr_db, "%.2f").c_str(), Join(s.excluded).c_str());
  }
  const std::string bound = Figure(*r.target_sqnr_db, "%.2f");
  if (r.suggested_exclude.empty() && r.target_reached) {
    std::printf("every node quantized already reaches %s dB: nothing to exclude\n", bound.c_str());
  } else if (r.target_reached) {
    std::printf("suggested: --exclude-nodes %s (reaches %s dB)\n", Join(r.suggested_exclude).c_str(),
                bound.c_str());
  } else {
    std::printf("no exclusion list reaches %s dB (even with every node excluded)\n", bound.c_str());
  }
}

}  // namespace

std::function<int()> SetupAnalyze(CLI::App* sub) {
  struct Options {
    std::string model;
    std::string task = "auto";
    ValidationData data;
    QuantizeFlags quantize;
    std::optional<double> target_sqnr_db;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("MODEL", options->model, "FP32 ONNX model")->required();
  AddQuantizeFlags(sub, &options->quantize);
  sub->add_option("--data", options->data.paths, "Validation data (repeatable)")->required();
  sub->add_option("--batch", options->data.batch, "Validation samples per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--task", options->task, "Metrics: auto, classification, other, or lm (perplexity and KL divergence of a decoder's logits)")
      ->check(CLI::IsMember({"auto", "classification", "other", "lm"}))
      ->capture_default_str();
  sub->add_option("--min-sqnr", options->target_sqnr_db,
                  "Suggest --exclude-nodes that reach this output SQNR (dB)");
  sub->add_flag("--json", options->json, "Print the analysis as JSON on stdout");
  return [options, sub]() -> int {
    ValidationData data = options->data;
    Result<TaskKind> task = ParseTaskKind(options->task);
    if (!task.ok()) return Fail(task.status());
    data.task = task.value();
    SensitivityOptions sensitivity;
    sensitivity.quantize = QuantizeOptionsFrom(options->quantize);
    const Status overrides = ReadOverridesOfConfig(*sub, &sensitivity.quantize);
    if (!overrides.ok()) return Fail(overrides);
    data.tokens = sensitivity.quantize.calib_tokens;  // --context, --tokenizer serve both
    sensitivity.target_sqnr_db = options->target_sqnr_db;
    data.threads = sensitivity.quantize.threads;
    Result<std::unique_ptr<Model>> model = Model::Load(options->model);
    if (!model.ok()) return Fail(model.status());
    Result<SensitivityReport> report =
        AnalyzeSensitivity(*model.value(), data, sensitivity, MakeProgressReporter());
    if (!report.ok()) return Fail(report.status());
    if (options->json) {
      std::cout << SensitivityToJson(report.value()).dump(2) << "\n";
    } else {
      PrintReport(options->model, report.value());
    }
    return kExitOk;
  };
}

}  // namespace pq::cli
