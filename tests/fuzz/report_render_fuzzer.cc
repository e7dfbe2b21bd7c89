// Fuzz target: `pq report` rendering. The input is parsed as JSON (as
// cmd_report reads a report file); any JSON value, ONNX-report or GGUF-report
// shaped or not, must render to Markdown and HTML or be refused with a
// one-line Status, never crash, throw or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "pq/report_render.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::ordered_json report = nlohmann::ordered_json::parse(
      data, data + size, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) return 0;
  for (pq::ReportFormat format : {pq::ReportFormat::kMarkdown, pq::ReportFormat::kHtml}) {
    pq::Result<std::string> text = pq::RenderReport(report, format);
    if (text.ok()) {
      Check(!text->empty());
    } else {
      Check(!text.status().message().empty());
    }
  }
  return 0;
}
