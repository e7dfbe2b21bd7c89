#include "pq/report_render.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "pq/report.h"
#include "report/render_writer.h"

namespace pq {

using Json = nlohmann::ordered_json;

std::string Text(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    std::ostringstream os;
    os.precision(6);
    os << v.get<double>();
    return os.str();
  }
  return v.dump();
}

// The <head> of an HTML report (inline style, no scripts).
constexpr const char* kHtmlHead =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>pq quantization report</title>\n<style>body{font-family:sans-serif;margin:2em;"
    "max-width:72em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid "
    "#bbb;padding:3px 6px;font-size:13px;text-align:left}th{background:#eee}code{font-size:"
    "12px}</style></head><body>\n";

Result<std::string> RenderDocument(ReportFormat format, const std::string& what,
                                   const std::function<void(ReportWriter*)>& body) {
  ReportWriter w(format);
  if (format == ReportFormat::kHtml) w.Raw(kHtmlHead);
  try {
    body(&w);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidInput("malformed " + what + ": " + e.what());
  }
  if (format == ReportFormat::kHtml) w.Raw("</body></html>\n");
  return w.str();
}

void RenderTitle(const Json& r, const std::string& title, ReportWriter* w) {
  w->Heading(1, title);
  w->Paragraph("Written by " + Text(r["tool"]["name"]) + " " + Text(r["tool"]["version"]) + " at " +
               Text(r["created_at"]) + " (report schema " + Text(r["schema_version"]) + ").");
  std::string command;
  for (const auto& a : r["command"]) command += (command.empty() ? "" : " ") + a.get<std::string>();
  w->Paragraph("Command: " + command);
}

void RenderWarnings(const Json& r, ReportWriter* w) {
  w->Heading(2, "Warnings");
  std::vector<std::vector<std::string>> warnings;
  for (const auto& warning : r["warnings"]) warnings.push_back({Text(warning)});
  w->Table({"warning"}, warnings);
}

namespace {

// SQNR as a sortable number: "+inf" sorts last.
double Db(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>() == "-inf" ? -INFINITY : INFINITY;
  return INFINITY;
}

std::string Consumers(const Json& t) {
  std::string out;
  for (const auto& c : t["consumers"]) {
    out += (out.empty() ? "" : ", ") + c["node"].get<std::string>() + " (" +
           c["op_type"].get<std::string>() + ")";
  }
  return out;
}

// A horizontal bar chart of weight SQNR, one bar per weight, lowest first.
std::string SqnrChart(const std::vector<std::pair<double, std::string>>& rows) {
  if (rows.empty()) return "";
  constexpr int kBarHeight = 18, kLabelWidth = 260, kPlotWidth = 420;
  double max_db = 1;
  for (const auto& r : rows) {
    if (std::isfinite(r.first)) max_db = std::max(max_db, r.first);
  }
  const int height = static_cast<int>(rows.size()) * kBarHeight + 30;
  std::ostringstream svg;
  svg << "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kLabelWidth + kPlotWidth + 70
      << "\" height=\"" << height << "\" role=\"img\" aria-label=\"weight SQNR per layer\">\n";
  int y = 10;
  for (const auto& [db, name] : rows) {
    const double shown = std::isfinite(db) ? std::max(0.0, db) : max_db;
    const int w = static_cast<int>(kPlotWidth * shown / max_db);
    std::string label = name.size() > 38 ? "…" + name.substr(name.size() - 37) : name;
    svg << "<text x=\"" << kLabelWidth - 6 << "\" y=\"" << y + 13
        << "\" text-anchor=\"end\" font-size=\"11\">" << ReportWriter::Escape(label) << "</text>";
    svg << "<rect x=\"" << kLabelWidth << "\" y=\"" << y + 2 << "\" width=\"" << w
        << "\" height=\"" << kBarHeight - 5 << "\" fill=\"#4a7ab5\"/>";
    std::ostringstream value;
    value.precision(3);
    if (std::isfinite(db)) {
      value << db;
    } else {
      value << "inf";
    }
    svg << "<text x=\"" << kLabelWidth + w + 4 << "\" y=\"" << y + 13 << "\" font-size=\"11\">"
        << value.str() << " dB</text>\n";
    y += kBarHeight;
  }
  svg << "</svg><figcaption>Weight SQNR (dB) per quantized weight, lowest first</figcaption></figure>\n";
  return svg.str();
}

// Returns OK if `r` has every top-level key of a pq report and the schema
// version this pq renders; kInvalidInput naming what is wrong otherwise.
Status CheckReport(const Json& r) {
  for (const char* key : {"schema_version", "tool", "input_model", "output_model", "config",
                          "tensors", "skipped", "summary", "warnings"}) {
    if (!r.contains(key)) return Status::InvalidInput(std::string("not a pq report: no '") + key + "'");
  }
  if (!r["schema_version"].is_string() || r["schema_version"].get<std::string>() != kReportSchemaVersion) {
    return Status::InvalidInput("report schema_version " + Text(r["schema_version"]) +
                                " is not one this pq renders (" + kReportSchemaVersion + ")");
  }
  return Status::OK();
}

// The input and output models, each followed by its external-data files.
void RenderModels(const Json& r, ReportWriter* w) {
  w->Heading(2, "Models");
  std::vector<std::vector<std::string>> models;
  for (const char* which : {"input_model", "output_model"}) {
    const Json& m = r[which];
    std::string opsets;
    for (const auto& o : m["opsets"]) {
      opsets += (opsets.empty() ? "" : ", ") + Text(o["domain"]) + " " + Text(o["version"]);
    }
    models.push_back({which == std::string("input_model") ? "input" : "output", Text(m["path"]),
                      Text(m["sha256"]), Text(m["bytes"]), Text(m["ir_version"]), opsets});
    for (const auto& f : m["external_data"]) {
      models.push_back({"  external data", Text(f["path"]), Text(f["sha256"]), Text(f["bytes"]), "", ""});
    }
  }
  w->Table({"", "path", "sha256", "bytes", "ir_version", "opsets"}, models);
}

void RenderConfiguration(const Json& r, ReportWriter* w) {
  w->Heading(2, "Configuration");
  std::vector<std::vector<std::string>> config;
  for (const auto& [key, value] : r["config"].items()) config.push_back({key, Text(value)});
  w->Table({"option", "value"}, config);
}

void RenderCalibration(const Json& r, ReportWriter* w) {
  w->Heading(2, "Calibration");
  if (r["calibration"].is_null()) {
    w->Paragraph("No calibration (weights only).");
    return;
  }
  std::vector<std::vector<std::string>> files;
  for (const auto& f : r["calibration"]["files"]) {
    files.push_back({Text(f["path"]), Text(f["sha256"]), Text(f["samples"])});
  }
  w->Table({"file", "sha256", "samples"}, files);
  w->Paragraph("Samples used: " + Text(r["calibration"]["samples_used"]) + ", batch " +
              Text(r["calibration"]["batch"]) + ".");
  const Json& from = r["calibration"].value("statistics_file", Json());
  if (from.is_object()) {
    std::string shards;
    for (const auto& p : from["shards"]["parts"]) shards += (shards.empty() ? "" : ", ") + Text(p["index"]);
    w->Paragraph("Statistics read from " + Text(from["path"]) + " (sha256 " + Text(from["sha256"]) +
                 "), shards " + shards + " of " + Text(from["shards"]["count"]) +
                 "; the model was not run on the data here.");
  }
}

// The summary figures, then the transformations applied (when there are any).
void RenderSummary(const Json& r, ReportWriter* w) {
  w->Heading(2, "Summary");
  const Json& s = r["summary"];
  w->Table({"figure", "value"},
          {{"nodes quantized", Text(s["nodes_quantized"])},
           {"weights / biases / activations quantized",
            Text(s["tensors_quantized"]["weights"]) + " / " + Text(s["tensors_quantized"]["biases"]) +
                " / " + Text(s["tensors_quantized"]["activations"])},
           {"skipped", Text(s["skipped"])},
           {"parameters quantized / total",
            Text(s["parameters_quantized"]) + " / " + Text(s["parameters_total"])},
           {"bytes before -> after", Text(s["bytes_before"]) + " -> " + Text(s["bytes_after"])},
           {"compression ratio", Text(s["compression_ratio"])},
           {"weight SQNR min / median (dB)",
            s["weight_sqnr_db"].is_null()
                ? "-"
                : Text(s["weight_sqnr_db"]["min"]) + " / " + Text(s["weight_sqnr_db"]["median"])}});
  if (!r["transformations"].empty()) {
    w->Heading(2, "Transformations");
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r["transformations"]) rows.push_back({Text(t)});
    w->Table({"applied before quantizing"}, rows);
  }
}

// The report's tensors, those with an error figure first, lowest SQNR first
// (stable: ties and tensors without one keep the report's order).
std::vector<const Json*> TensorsByError(const Json& r) {
  std::vector<const Json*> tensors;
  for (const auto& t : r["tensors"]) tensors.push_back(&t);
  std::stable_sort(tensors.begin(), tensors.end(), [](const Json* a, const Json* b) {
    const bool ea = !(*a)["error"].is_null(), eb = !(*b)["error"].is_null();
    if (ea != eb) return ea;
    if (!ea) return false;
    return Db((*a)["error"]["sqnr_db"]) < Db((*b)["error"]["sqnr_db"]);
  });
  return tensors;
}

// The range column of a tensor row: chosen of observed range, or the tensor
// whose parameters it shares, or "-".
std::string RangeCell(const Json& t) {
  if (!t["range"].is_null()) {
    const Json& g = t["range"];
    return "[" + Text(g["chosen_min"]) + ", " + Text(g["chosen_max"]) + "] of [" +
           Text(g["observed_min"]) + ", " + Text(g["observed_max"]) + "], " + Text(g["method"]) +
           ", clipped " + Text(g["clipped_fraction"]);
  }
  if (!t["shares_params_with"].is_null()) return "shares " + Text(t["shares_params_with"]);
  return "-";
}

// The per-tensor table (sorted by error), preceded in HTML by the weight
// SQNR chart.
void RenderTensors(const Json& r, ReportFormat format, ReportWriter* w) {
  w->Heading(2, "Quantized tensors (lowest SQNR first)");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::pair<double, std::string>> chart;
  for (const Json* t : TensorsByError(r)) {
    const Json& e = (*t)["error"];
    rows.push_back({Text((*t)["name"]), Text((*t)["role"]), Consumers(*t),
                    Text((*t)["from_dtype"]) + " -> " + Text((*t)["to_dtype"]),
                    Text((*t)["granularity"]) + ((*t)["axis"].is_null() ? "" : " axis " + Text((*t)["axis"])),
                    e.is_null() ? "-" : Text(e["sqnr_db"]), e.is_null() ? "-" : Text(e["max_abs"]),
                    e.is_null() ? "-" : Text(e["cosine"]), RangeCell(*t)});
    if (Text((*t)["role"]) == "weight" && !e.is_null()) chart.emplace_back(Db(e["sqnr_db"]), Text((*t)["name"]));
  }
  if (format == ReportFormat::kHtml) w->Raw(SqnrChart(chart));
  w->Table({"tensor", "role", "consumers", "dtype", "granularity", "SQNR dB", "max abs", "cosine",
           "range"},
          rows);
}

// How weights were rounded, when --weight-algo was not rtn: per weight the
// algorithm applied, the layer's relative output error on the calibration
// data with round-to-nearest and with the algorithm, and why rtn was kept.
void RenderRounding(const Json& r, ReportWriter* w) {
  std::vector<std::vector<std::string>> rows;
  bool awq = false;
  for (const auto& t : r["tensors"]) awq = awq || (t.contains("rounding") && t["rounding"].contains("awq"));
  for (const auto& t : r["tensors"]) {
    if (!t.contains("rounding")) continue;
    const Json& g = t["rounding"];
    const Json& e = g["output_error"];
    const std::string requested = Text(g["requested"]);
    std::vector<std::string> row = {Text(t["name"]), Text(g["applied"]), e["rtn"].is_null() ? "-" : Text(e["rtn"]),
                                    !e.contains(requested) || e[requested].is_null() ? "-" : Text(e[requested])};
    if (awq) {
      const bool has = g.contains("awq");
      row.push_back(has ? Text(g["awq"]["alpha"]) : "-");
      row.push_back(has && !g["awq"]["folded_into"].is_null() ? Text(g["awq"]["folded_into"]) : "-");
    }
    row.push_back(g["fallback"].is_null() ? "" : Text(g["fallback"]));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return;
  const std::string algorithm = Text(r["config"]["weight_rounding"]["algorithm"]);
  w->Heading(2, "Weight rounding");
  w->Paragraph("Relative output error on the calibration data, ||X (W - Q)^T||^2 / ||X W^T||^2, "
               "with round-to-nearest and with " + algorithm + "." +
               (awq ? " AWQ: the alpha chosen for the weights sharing an input, and where 1/s went." : ""));
  std::vector<std::string> headers = {"weight", "applied", "error rtn", "error " + algorithm};
  if (awq) {
    headers.push_back("alpha");
    headers.push_back("1/s folded into");
  }
  headers.push_back("why rtn");
  w->Table(headers, rows);
}

// Weights whose scheme --embeddings, --lm-head or a [quantize.overrides]
// pattern chose, with how each is written (and MatMulNBits' accuracy_level).
void RenderSelections(const Json& r, ReportWriter* w) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : r["tensors"]) {
    const bool level = t.contains("written_as") && t["written_as"].is_object() &&
                       t["written_as"].contains("accuracy_level");
    if (!t.contains("selection") && !level) continue;
    const Json none = Json::object();
    const Json& s = t.contains("selection") && t["selection"].is_object() ? t["selection"] : none;
    auto cell = [&s](const char* key) { return s.contains(key) && !s[key].is_null() ? Text(s[key]) : "-"; };
    const Json& form = t["written_as"].contains("form") ? t["written_as"]["form"] : Json("DequantizeLinear");
    rows.push_back({Text(t["name"]), cell("by"), cell("value"), cell("pattern"), Text(t["scheme"]), Text(form),
                    level ? Text(t["written_as"]["accuracy_level"]) : "-"});
  }
  if (rows.empty()) return;
  w->Heading(2, "Schemes chosen by rule");
  w->Paragraph("Weights whose scheme --embeddings, --lm-head (tied: an embedding table the lm_head reads too, "
               "stored once) or a [quantize.overrides] pattern chose; tensors a rule kept FP32 are under "
               "Left unquantized.");
  w->Table({"weight", "rule", "value", "pattern", "scheme", "written as", "accuracy_level"}, rows);
}

// The language-model metrics and the per-group results of a validation (of
// the best step with auto-fallback), as tables before its full JSON.
void RenderValidationTables(const Json& v, ReportWriter* w) {
  const Json* metrics = nullptr;
  if (v.contains("metrics")) {
    metrics = &v["metrics"];
  } else if (v.contains("steps") && v.contains("best_step") && v["best_step"].is_number_unsigned() &&
             v["best_step"].get<size_t>() < v["steps"].size()) {
    metrics = &v["steps"][v["best_step"].get<size_t>()]["metrics"];
  }
  if (metrics == nullptr || !metrics->is_object()) return;
  if (metrics->contains("speed") && (*metrics)["speed"].is_object()) {
    const Json& speed = (*metrics)["speed"];
    std::vector<std::vector<std::string>> rows;
    for (const char* which : {"reference", "candidate"}) {
      const Json& t = speed[which];
      rows.push_back({which, Text(t["ms_per_sample"]), Text(t["samples_per_second"]),
                      Text(t["quality"]) + " " + Text(t["quality_per_ms"]), Text(t["cost_per_1000"])});
    }
    w->Paragraph("Speed on pq's executor, not on the deployment runtime (" + Text(speed["reference"]["threads"]) +
                 " threads, batch " + Text(speed["reference"]["batch"]) + ", median of " +
                 Text(speed["reference"]["runs"]) + " runs); candidate speed-up " + Text(speed["candidate_speedup"]) +
                 ".");
    w->Table({"model", "ms per sample", "samples per second", "quality per ms", "cost per 1000 requests"}, rows);
  }
  if (metrics->contains("lm") && (*metrics)["lm"].is_object()) {
    const Json& lm = (*metrics)["lm"];
    std::vector<std::vector<std::string>> rows;
    for (const char* key : {"positions", "perplexity_ref", "perplexity_cand", "perplexity_ratio", "kld_mean",
                            "kld_median", "kld_p99", "kld_max", "top1_agreement"}) {
      if (lm.contains(key)) rows.push_back({key, Text(lm[key])});
    }
    w->Paragraph("Language model (output " + Text(lm["output"]) + "): perplexity of both models and the KL "
                 "divergence of the candidate's next-token distributions from the reference's.");
    w->Table({"metric", "value"}, rows);
  }
  if (!metrics->contains("outputs")) return;
  for (const auto& o : (*metrics)["outputs"]) {
    if (!o.contains("classification") || !o["classification"].is_object() ||
        !o["classification"].contains("per_group")) {
      continue;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : o["classification"]["per_group"]) {
      rows.push_back({Text(g["name"]), Text(g["rows"]), Text(g["flip_rate"]),
                      g.contains("reference_accuracy") ? Text(g["reference_accuracy"]) : "-",
                      g.contains("candidate_accuracy") ? Text(g["candidate_accuracy"]) : "-",
                      g.contains("drop_points") ? Text(g["drop_points"]) : "-"});
    }
    w->Paragraph("Groups of output " + Text(o["name"]) + " (worst: " + Text(o["classification"]["worst_group"]) +
                 ").");
    w->Table({"group", "rows", "flip rate", "reference accuracy", "candidate accuracy", "drop (points)"}, rows);
  }
}

// What was left unquantized, the warnings and the validation result.
void RenderOutcome(const Json& r, ReportWriter* w) {
  w->Heading(2, "Left unquantized");
  std::vector<std::vector<std::string>> skipped;
  for (const auto& k : r["skipped"]) {
    skipped.push_back({Text(k["node"]), Text(k["op_type"]), Text(k["tensor"]), Text(k["reason"])});
  }
  w->Table({"node", "op type", "tensor", "reason"}, skipped);

  RenderWarnings(r, w);

  w->Heading(2, "Validation");
  if (r.contains("validation") && !r["validation"].is_null()) RenderValidationTables(r["validation"], w);
  w->Paragraph(r.contains("validation") && !r["validation"].is_null() ? r["validation"].dump(2)
                                                                       : "Not validated.");
}

}  // namespace

Result<std::string> RenderReport(const Json& r, ReportFormat format) {
  if (r.is_object() && r.contains("format") && r["format"] == "gguf") return RenderGgufReport(r, format);
  PQ_RETURN_IF_ERROR(CheckReport(r));
  return RenderDocument(format, "pq report", [&r, format](ReportWriter* w) {
    RenderTitle(r, "pq quantization report", w);
    RenderModels(r, w);
    RenderConfiguration(r, w);
    RenderCalibration(r, w);
    RenderSummary(r, w);
    RenderTensors(r, format, w);
    RenderRounding(r, w);
    RenderSelections(r, w);
    RenderOutcome(r, w);
  });
}

}  // namespace pq
