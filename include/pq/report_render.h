// Renders an audit report (the JSON document pq writes beside a quantized
// model) as a document an auditor reads: Markdown, or self-contained HTML
// with an inline SVG chart of per-layer SQNR (no scripts, no network).
#ifndef PQ_REPORT_RENDER_H_
#define PQ_REPORT_RENDER_H_

#include <string>

#include <nlohmann/json.hpp>

#include "pq/status.h"

namespace pq {

enum class ReportFormat { kMarkdown, kHtml };

// Renders `report`. Errors (kInvalidInput): a document that is not a pq
// report of a schema version this pq knows, naming what is missing.
Result<std::string> RenderReport(const nlohmann::ordered_json& report, ReportFormat format);

}  // namespace pq

#endif  // PQ_REPORT_RENDER_H_
