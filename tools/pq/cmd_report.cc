// pq report REPORT.json [--format md|html] [-o FILE] [--force]
// Renders a quantization report for an auditor.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "pq/report.h"
#include "pq/report_render.h"

namespace pq::cli {

std::function<int()> SetupReport(CLI::App* sub) {
  struct Options {
    std::string report;
    std::string format = "md";
    std::string output;
    bool force = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("REPORT", options->report, "A report JSON written by pq quantize")->required();
  sub->add_option("--format", options->format, "md or html")
      ->check(CLI::IsMember({"md", "html"}))
      ->capture_default_str();
  sub->add_option("-o,--output", options->output, "Write here instead of stdout");
  sub->add_flag("--force", options->force, "Overwrite an existing output");
  return [options]() -> int {
    std::ifstream in(options->report);
    if (!in) return Fail(Status::InvalidInput(options->report + ": cannot open"));
    nlohmann::ordered_json doc;
    try {
      doc = nlohmann::ordered_json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      return Fail(Status::InvalidInput(options->report + ": not JSON: " + e.what()));
    }
    Result<std::string> text = RenderReport(
        doc, options->format == "html" ? ReportFormat::kHtml : ReportFormat::kMarkdown);
    if (!text.ok()) return Fail(text.status().WithPrefix(options->report));
    if (options->output.empty()) {
      std::cout << text.value();
      return kExitOk;
    }
    std::error_code ec;
    if (std::filesystem::equivalent(options->output, options->report, ec)) {
      return Fail(Status::OutputError(options->output + ": is the report being rendered"));
    }
    // The same atomic writer as the report itself.
    Status written = WriteTextFile(text.value(), options->output, options->force);
    return written.ok() ? kExitOk : Fail(written);
  };
}

}  // namespace pq::cli
