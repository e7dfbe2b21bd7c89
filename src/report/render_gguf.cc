// Renders the report of a GGUF export (format "gguf"): the models, the
// decoder's architecture, the tokenizer, the configuration and calibration,
// the summary, every tensor (lowest SQNR first), what was not carried over
// and the warnings.
#include <algorithm>
#include <string>
#include <vector>

#include "pq/report.h"
#include "report/render_writer.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;

Status CheckGgufReport(const Json& r) {
  for (const char* key : {"schema_version", "tool", "input_model", "output_gguf", "architecture", "tokenizer",
                          "config", "tensors", "skipped", "summary", "warnings"}) {
    if (!r.contains(key)) return Status::InvalidInput(std::string("not a pq GGUF report: no '") + key + "'");
  }
  if (!r["schema_version"].is_string() || r["schema_version"].get<std::string>() != kReportSchemaVersion) {
    return Status::InvalidInput("report schema_version " + Text(r["schema_version"]) +
                                " is not one this pq renders (" + kReportSchemaVersion + ")");
  }
  return Status::OK();
}

std::vector<std::vector<std::string>> KeyValueRows(const Json& object) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : object.items()) rows.push_back({key, Text(value)});
  return rows;
}

double SqnrOf(const Json& t) {
  const Json& v = t["error"]["sqnr_db"];
  if (v.is_number()) return v.get<double>();
  return v.is_string() && v.get<std::string>() == "-inf" ? -1e300 : 1e300;
}

void RenderBody(const Json& r, ReportWriter* w) {
  RenderTitle(r, "pq GGUF export report", w);

  w->Heading(2, "Files");
  const Json& in = r["input_model"];
  const Json& out = r["output_gguf"];
  w->Table({"", "path", "sha256", "bytes"},
           {{"input (ONNX)", Text(in["path"]), Text(in["sha256"]), Text(in["bytes"])},
            {"output (GGUF)", Text(out["path"]), "in the GGUF: pq.report.sha256 = this report's", "-"},
            {"tokenizer", Text(r["tokenizer"]["path"]), Text(r["tokenizer"]["sha256"]), "-"}});

  w->Heading(2, "Architecture");
  w->Table({"hyper-parameter", "value"}, KeyValueRows(r["architecture"]));
  w->Heading(2, "Tokenizer");
  w->Table({"field", "value"}, KeyValueRows(r["tokenizer"]));
  w->Heading(2, "Configuration");
  w->Table({"option", "value"}, KeyValueRows(r["config"]));

  w->Heading(2, "Calibration");
  if (r["calibration"].is_null()) {
    w->Paragraph("No calibration data: scales chosen without importance weights.");
  } else {
    std::vector<std::vector<std::string>> files;
    for (const auto& f : r["calibration"]["files"]) files.push_back({Text(f["path"]), Text(f["sha256"]), Text(f["samples"])});
    w->Table({"file", "sha256", "samples"}, files);
  }

  w->Heading(2, "Summary");
  std::vector<std::vector<std::string>> summary;
  for (const auto& [key, value] : r["summary"].items()) {
    if (key != "worst_sqnr_db") summary.push_back({key, Text(value)});
  }
  w->Table({"figure", "value"}, summary);

  w->Heading(2, "Tensors (lowest SQNR first)");
  std::vector<const Json*> tensors;
  for (const auto& t : r["tensors"]) tensors.push_back(&t);
  std::stable_sort(tensors.begin(), tensors.end(), [](const Json* a, const Json* b) { return SqnrOf(*a) < SqnrOf(*b); });
  std::vector<std::vector<std::string>> rows;
  for (const Json* t : tensors) {
    const Json& e = (*t)["error"];
    rows.push_back({Text((*t)["name"]), Text((*t)["shape"]), Text((*t)["ggml_type"]),
                    (*t)["fallback"].is_null() ? "" : Text((*t)["fallback"]), Text(e["sqnr_db"]), Text(e["rmse"]),
                    Text((*t)["importance_weighted"]), Text((*t)["sha256"])});
  }
  w->Table({"tensor", "shape", "ggml type", "fallback", "SQNR dB", "RMSE", "importance", "sha256"}, rows);

  w->Heading(2, "ONNX constants not written");
  std::vector<std::vector<std::string>> skipped;
  for (const auto& k : r["skipped"]) skipped.push_back({Text(k["tensor"]), Text(k["reason"])});
  w->Table({"tensor", "reason"}, skipped);
  RenderWarnings(r, w);
}

}  // namespace

Result<std::string> RenderGgufReport(const Json& r, ReportFormat format) {
  PQ_RETURN_IF_ERROR(CheckGgufReport(r));
  return RenderDocument(format, "pq GGUF report", [&r](ReportWriter* w) { RenderBody(r, w); });
}

}  // namespace pq
