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
  if (!r.at("schema_version").is_string() || r.at("schema_version").get<std::string>() != kReportSchemaVersion) {
    return Status::InvalidInput("report schema_version " + Text(r.at("schema_version")) +
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
  const Json& v = t.at("error").at("sqnr_db");
  if (v.is_number()) return v.get<double>();
  return v.is_string() && v.get<std::string>() == "-inf" ? -1e300 : 1e300;
}

void RenderBody(const Json& r, ReportWriter* w) {
  RenderTitle(r, "pq GGUF export report", w);

  w->Heading(2, "Files");
  const Json& in = r.at("input_model");
  const Json& out = r.at("output_gguf");
  w->Table({"", "path", "sha256", "bytes"},
           {{"input (ONNX)", Text(in.at("path")), Text(in.at("sha256")), Text(in.at("bytes"))},
            {"output (GGUF)", Text(out.at("path")), "in the GGUF: pq.report.sha256 = this report's", "-"},
            {"tokenizer", Text(r.at("tokenizer").at("path")), Text(r.at("tokenizer").at("sha256")), "-"}});

  w->Heading(2, "Architecture");
  w->Table({"hyper-parameter", "value"}, KeyValueRows(r.at("architecture")));
  w->Heading(2, "Tokenizer");
  w->Table({"field", "value"}, KeyValueRows(r.at("tokenizer")));
  w->Heading(2, "Configuration");
  w->Table({"option", "value"}, KeyValueRows(r.at("config")));

  w->Heading(2, "Calibration");
  if (r.at("calibration").is_null()) {
    w->Paragraph("No calibration data: scales chosen without importance weights.");
  } else {
    std::vector<std::vector<std::string>> files;
    for (const auto& f : r.at("calibration").at("files")) files.push_back({Text(f.at("path")), Text(f.at("sha256")), Text(f.at("samples"))});
    w->Table({"file", "sha256", "samples"}, files);
  }

  w->Heading(2, "Summary");
  std::vector<std::vector<std::string>> summary;
  for (const auto& [key, value] : r.at("summary").items()) {
    if (key != "worst_sqnr_db") summary.push_back({key, Text(value)});
  }
  w->Table({"figure", "value"}, summary);

  w->Heading(2, "Tensors (lowest SQNR first)");
  std::vector<const Json*> tensors;
  for (const auto& t : r.at("tensors")) tensors.push_back(&t);
  std::stable_sort(tensors.begin(), tensors.end(), [](const Json* a, const Json* b) { return SqnrOf(*a) < SqnrOf(*b); });
  std::vector<std::vector<std::string>> rows;
  for (const Json* t : tensors) {
    const Json& e = (*t).at("error");
    rows.push_back({Text((*t).at("name")), Text((*t).at("shape")), Text((*t).at("ggml_type")),
                    (*t).at("fallback").is_null() ? "" : Text((*t).at("fallback")), Text(e.at("sqnr_db")), Text(e.at("rmse")),
                    Text((*t).at("importance_weighted")), Text((*t).at("sha256"))});
  }
  w->Table({"tensor", "shape", "ggml type", "fallback", "SQNR dB", "RMSE", "importance", "sha256"}, rows);

  w->Heading(2, "ONNX constants not written");
  std::vector<std::vector<std::string>> skipped;
  for (const auto& k : r.at("skipped")) skipped.push_back({Text(k.at("tensor")), Text(k.at("reason"))});
  w->Table({"tensor", "reason"}, skipped);
  RenderWarnings(r, w);
}

}  // namespace

Result<std::string> RenderGgufReport(const Json& r, ReportFormat format) {
  PQ_RETURN_IF_ERROR(CheckGgufReport(r));
  return RenderDocument(format, "pq GGUF report", [&r](ReportWriter* w) { RenderBody(r, w); });
}

}  // namespace pq
