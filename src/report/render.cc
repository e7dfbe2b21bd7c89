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
  w->Paragraph("Written by " + Text(r.at("tool").at("name")) + " " + Text(r.at("tool").at("version")) + " at " +
               Text(r.at("created_at")) + " (report schema " + Text(r.at("schema_version")) + ").");
  std::string command;
  for (const auto& a : r.at("command")) command += (command.empty() ? "" : " ") + a.get<std::string>();
  w->Paragraph("Command: " + command);
}

void RenderWarnings(const Json& r, ReportWriter* w) {
  w->Heading(2, "Warnings");
  std::vector<std::vector<std::string>> warnings;
  for (const auto& warning : r.at("warnings")) warnings.push_back({Text(warning)});
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
  for (const auto& c : t.at("consumers")) {
    out += (out.empty() ? "" : ", ") + c.at("node").get<std::string>() + " (" +
           c.at("op_type").get<std::string>() + ")";
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
  if (!r.at("schema_version").is_string() || r.at("schema_version").get<std::string>() != kReportSchemaVersion) {
    return Status::InvalidInput("report schema_version " + Text(r.at("schema_version")) +
                                " is not one this pq renders (" + kReportSchemaVersion + ")");
  }
  return Status::OK();
}

// The input and output models, each followed by its external-data files.
void RenderModels(const Json& r, ReportWriter* w) {
  w->Heading(2, "Models");
  std::vector<std::vector<std::string>> models;
  for (const char* which : {"input_model", "output_model"}) {
    const Json& m = r.at(which);
    std::string opsets;
    for (const auto& o : m.at("opsets")) {
      opsets += (opsets.empty() ? "" : ", ") + Text(o.at("domain")) + " " + Text(o.at("version"));
    }
    models.push_back({which == std::string("input_model") ? "input" : "output", Text(m.at("path")),
                      Text(m.at("sha256")), Text(m.at("bytes")), Text(m.at("ir_version")), opsets});
    for (const auto& f : m.at("external_data")) {
      models.push_back({"  external data", Text(f.at("path")), Text(f.at("sha256")), Text(f.at("bytes")), "", ""});
    }
  }
  w->Table({"", "path", "sha256", "bytes", "ir_version", "opsets"}, models);
}

void RenderConfiguration(const Json& r, ReportWriter* w) {
  w->Heading(2, "Configuration");
  std::vector<std::vector<std::string>> config;
  for (const auto& [key, value] : r.at("config").items()) config.push_back({key, Text(value)});
  w->Table({"option", "value"}, config);
}

void RenderCalibration(const Json& r, ReportWriter* w) {
  w->Heading(2, "Calibration");
  if (r.at("calibration").is_null()) {
    w->Paragraph("No calibration (weights only).");
    return;
  }
  std::vector<std::vector<std::string>> files;
  for (const auto& f : r.at("calibration").at("files")) {
    files.push_back({Text(f.at("path")), Text(f.at("sha256")), Text(f.at("samples"))});
  }
  w->Table({"file", "sha256", "samples"}, files);
  w->Paragraph("Samples used: " + Text(r.at("calibration").at("samples_used")) + ", batch " +
              Text(r.at("calibration").at("batch")) + ".");
  const Json& from = r.at("calibration").value("statistics_file", Json());
  if (from.is_object()) {
    std::string shards;
    for (const auto& p : from.at("shards").at("parts")) shards += (shards.empty() ? "" : ", ") + Text(p.at("index"));
    w->Paragraph("Statistics read from " + Text(from.at("path")) + " (sha256 " + Text(from.at("sha256")) +
                 "), shards " + shards + " of " + Text(from.at("shards").at("count")) +
                 "; the model was not run on the data here.");
  }
}

// The summary figures, then the transformations applied (when there are any).
void RenderSummary(const Json& r, ReportWriter* w) {
  w->Heading(2, "Summary");
  const Json& s = r.at("summary");
  w->Table({"figure", "value"},
          {{"nodes quantized", Text(s.at("nodes_quantized"))},
           {"weights / biases / activations quantized",
            Text(s.at("tensors_quantized").at("weights")) + " / " + Text(s.at("tensors_quantized").at("biases")) +
                " / " + Text(s.at("tensors_quantized").at("activations"))},
           {"skipped", Text(s.at("skipped"))},
           {"parameters quantized / total",
            Text(s.at("parameters_quantized")) + " / " + Text(s.at("parameters_total"))},
           {"bytes before -> after", Text(s.at("bytes_before")) + " -> " + Text(s.at("bytes_after"))},
           {"compression ratio", Text(s.at("compression_ratio"))},
           {"weight SQNR min / median (dB)",
            s.at("weight_sqnr_db").is_null()
                ? "-"
                : Text(s.at("weight_sqnr_db").at("min")) + " / " + Text(s.at("weight_sqnr_db").at("median"))}});
  if (!r.at("transformations").empty()) {
    w->Heading(2, "Transformations");
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r.at("transformations")) rows.push_back({Text(t)});
    w->Table({"applied before quantizing"}, rows);
  }
}

// The report's tensors, those with an error figure first, lowest SQNR first
// (stable: ties and tensors without one keep the report's order).
std::vector<const Json*> TensorsByError(const Json& r) {
  std::vector<const Json*> tensors;
  for (const auto& t : r.at("tensors")) tensors.push_back(&t);
  std::stable_sort(tensors.begin(), tensors.end(), [](const Json* a, const Json* b) {
    const bool ea = !(*a).at("error").is_null(), eb = !(*b).at("error").is_null();
    if (ea != eb) return ea;
    if (!ea) return false;
    return Db((*a).at("error").at("sqnr_db")) < Db((*b).at("error").at("sqnr_db"));
  });
  return tensors;
}

// The range column of a tensor row: chosen of observed range, or the tensor
// whose parameters it shares, or "-".
std::string RangeCell(const Json& t) {
  if (!t.at("range").is_null()) {
    const Json& g = t.at("range");
    return "[" + Text(g.at("chosen_min")) + ", " + Text(g.at("chosen_max")) + "] of [" +
           Text(g.at("observed_min")) + ", " + Text(g.at("observed_max")) + "], " + Text(g.at("method")) +
           ", clipped " + Text(g.at("clipped_fraction"));
  }
  if (!t.at("shares_params_with").is_null()) return "shares " + Text(t.at("shares_params_with"));
  return "-";
}

// The per-tensor table (sorted by error), preceded in HTML by the weight
// SQNR chart.
void RenderTensors(const Json& r, ReportFormat format, ReportWriter* w) {
  w->Heading(2, "Quantized tensors (lowest SQNR first)");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::pair<double, std::string>> chart;
  for (const Json* t : TensorsByError(r)) {
    const Json& e = (*t).at("error");
    rows.push_back({Text((*t).at("name")), Text((*t).at("role")), Consumers(*t),
                    Text((*t).at("from_dtype")) + " -> " + Text((*t).at("to_dtype")),
                    Text((*t).at("granularity")) + ((*t).at("axis").is_null() ? "" : " axis " + Text((*t).at("axis"))),
                    e.is_null() ? "-" : Text(e.at("sqnr_db")), e.is_null() ? "-" : Text(e.at("max_abs")),
                    e.is_null() ? "-" : Text(e.at("cosine")), RangeCell(*t)});
    if (Text((*t).at("role")) == "weight" && !e.is_null()) chart.emplace_back(Db(e.at("sqnr_db")), Text((*t).at("name")));
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
  for (const auto& t : r.at("tensors")) awq = awq || (t.contains("rounding") && t.at("rounding").contains("awq"));
  for (const auto& t : r.at("tensors")) {
    if (!t.contains("rounding")) continue;
    const Json& g = t.at("rounding");
    const Json& e = g.at("output_error");
    const std::string requested = Text(g.at("requested"));
    std::vector<std::string> row = {Text(t.at("name")), Text(g.at("applied")), e.at("rtn").is_null() ? "-" : Text(e.at("rtn")),
                                    !e.contains(requested) || e.at(requested).is_null() ? "-" : Text(e.at(requested))};
    if (awq) {
      const bool has = g.contains("awq");
      row.push_back(has ? Text(g.at("awq").at("alpha")) : "-");
      row.push_back(has && !g.at("awq").at("folded_into").is_null() ? Text(g.at("awq").at("folded_into")) : "-");
    }
    row.push_back(g.at("fallback").is_null() ? "" : Text(g.at("fallback")));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return;
  const std::string algorithm = Text(r.at("config").at("weight_rounding").at("algorithm"));
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
  for (const auto& t : r.at("tensors")) {
    const bool written = t.contains("written_as") && t.at("written_as").is_object();
    const bool level = written && t.at("written_as").contains("accuracy_level");
    if (!t.contains("selection") && !level) continue;
    const Json none = Json::object();
    const Json& s = t.contains("selection") && t.at("selection").is_object() ? t.at("selection") : none;
    auto cell = [&s](const char* key) { return s.contains(key) && !s.at(key).is_null() ? Text(s.at(key)) : "-"; };
    const Json form = written && t.at("written_as").contains("form") ? t.at("written_as").at("form")
                                                                     : Json("DequantizeLinear");
    rows.push_back({Text(t.at("name")), cell("by"), cell("value"), cell("pattern"), Text(t.at("scheme")), Text(form),
                    level ? Text(t.at("written_as").at("accuracy_level")) : "-"});
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
    metrics = &v.at("metrics");
  } else if (v.contains("steps") && v.contains("best_step") && v.at("best_step").is_number_unsigned() &&
             v.at("best_step").get<size_t>() < v.at("steps").size()) {
    metrics = &v.at("steps")[v.at("best_step").get<size_t>()].at("metrics");
  }
  if (metrics == nullptr || !metrics->is_object()) return;
  if (metrics->contains("speed") && (*metrics).at("speed").is_object()) {
    const Json& speed = (*metrics).at("speed");
    std::vector<std::vector<std::string>> rows;
    for (const char* which : {"reference", "candidate"}) {
      const Json& t = speed.at(which);
      rows.push_back({which, Text(t.at("ms_per_sample")), Text(t.at("samples_per_second")),
                      Text(t.at("quality")) + " " + Text(t.at("quality_per_ms")), Text(t.at("cost_per_1000"))});
    }
    w->Paragraph("Speed on pq's executor, not on the deployment runtime (" + Text(speed.at("reference").at("threads")) +
                 " threads, batch " + Text(speed.at("reference").at("batch")) + ", median of " +
                 Text(speed.at("reference").at("runs")) + " runs); candidate speed-up " + Text(speed.at("candidate_speedup")) +
                 ".");
    w->Table({"model", "ms per sample", "samples per second", "quality per ms", "cost per 1000 requests"}, rows);
  }
  if (metrics->contains("lm") && (*metrics).at("lm").is_object()) {
    const Json& lm = (*metrics).at("lm");
    std::vector<std::vector<std::string>> rows;
    for (const char* key : {"positions", "perplexity_ref", "perplexity_cand", "perplexity_ratio", "kld_mean",
                            "kld_median", "kld_p99", "kld_max", "top1_agreement"}) {
      if (lm.contains(key)) rows.push_back({key, Text(lm.at(key))});
    }
    w->Paragraph("Language model (output " + Text(lm.at("output")) + "): perplexity of both models and the KL "
                 "divergence of the candidate's next-token distributions from the reference's.");
    w->Table({"metric", "value"}, rows);
  }
  if (!metrics->contains("outputs")) return;
  for (const auto& o : (*metrics).at("outputs")) {
    if (!o.contains("classification") || !o.at("classification").is_object() ||
        !o.at("classification").contains("per_group")) {
      continue;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : o.at("classification").at("per_group")) {
      rows.push_back({Text(g.at("name")), Text(g.at("rows")), Text(g.at("flip_rate")),
                      g.contains("reference_accuracy") ? Text(g.at("reference_accuracy")) : "-",
                      g.contains("candidate_accuracy") ? Text(g.at("candidate_accuracy")) : "-",
                      g.contains("drop_points") ? Text(g.at("drop_points")) : "-"});
    }
    w->Paragraph("Groups of output " + Text(o.at("name")) + " (worst: " + Text(o.at("classification").at("worst_group")) +
                 ").");
    w->Table({"group", "rows", "flip rate", "reference accuracy", "candidate accuracy", "drop (points)"}, rows);
  }
}

// What was left unquantized, the warnings and the validation result.
void RenderOutcome(const Json& r, ReportWriter* w) {
  w->Heading(2, "Left unquantized");
  std::vector<std::vector<std::string>> skipped;
  for (const auto& k : r.at("skipped")) {
    skipped.push_back({Text(k.at("node")), Text(k.at("op_type")), Text(k.at("tensor")), Text(k.at("reason"))});
  }
  w->Table({"node", "op type", "tensor", "reason"}, skipped);

  RenderWarnings(r, w);

  w->Heading(2, "Validation");
  if (r.contains("validation") && !r.at("validation").is_null()) RenderValidationTables(r.at("validation"), w);
  w->Paragraph(r.contains("validation") && !r.at("validation").is_null() ? r.at("validation").dump(2)
                                                                       : "Not validated.");
}

}  // namespace

Result<std::string> RenderReport(const Json& r, ReportFormat format) {
  if (r.is_object() && r.contains("format") && r.at("format") == "gguf") return RenderGgufReport(r, format);
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
