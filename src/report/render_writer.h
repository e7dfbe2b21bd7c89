// The document writer the report renderers share: headings, paragraphs and
// tables, as Markdown or HTML, plus the HTML page head and value formatting.
#ifndef PQ_REPORT_RENDER_WRITER_H_
#define PQ_REPORT_RENDER_WRITER_H_

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/report_render.h"

namespace pq {

// One block of the document, rendered by format: headings, key/value lists
// and tables are all the renderer needs.
class ReportWriter {
 public:
  explicit ReportWriter(ReportFormat format) : format_(format) {}

  void Heading(int level, const std::string& text) {
    if (format_ == ReportFormat::kMarkdown) {
      out_ << std::string(static_cast<size_t>(level), '#') << " " << text << "\n\n";
    } else {
      out_ << "<h" << level << ">" << Escape(text) << "</h" << level << ">\n";
    }
  }
  void Paragraph(const std::string& text) {
    if (format_ == ReportFormat::kMarkdown) {
      out_ << text << "\n\n";
    } else {
      out_ << "<p>" << Escape(text) << "</p>\n";
    }
  }
  void Table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    if (rows.empty()) {
      Paragraph("(none)");
      return;
    }
    if (format_ == ReportFormat::kMarkdown) {
      out_ << "|";
      for (const auto& h : header) out_ << " " << Cell(h) << " |";
      out_ << "\n|";
      for (size_t i = 0; i < header.size(); ++i) out_ << "---|";
      out_ << "\n";
      for (const auto& row : rows) {
        out_ << "|";
        for (const auto& c : row) out_ << " " << Cell(c) << " |";
        out_ << "\n";
      }
      out_ << "\n";
      return;
    }
    out_ << "<table>\n<tr>";
    for (const auto& h : header) out_ << "<th>" << Escape(h) << "</th>";
    out_ << "</tr>\n";
    for (const auto& row : rows) {
      out_ << "<tr>";
      for (const auto& c : row) out_ << "<td>" << Escape(c) << "</td>";
      out_ << "</tr>\n";
    }
    out_ << "</table>\n";
  }
  void Raw(const std::string& html) { out_ << html; }
  std::string str() const { return out_.str(); }

  static std::string Escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out.push_back(c);
      }
    }
    return out;
  }

 private:
  static std::string Cell(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '|') out += "\\|";
      else if (c == '\n') out += " ";
      else out.push_back(c);
    }
    return out;
  }
  ReportFormat format_;
  std::ostringstream out_;
};

// A JSON value as table text: "-" for null, strings as they are, floats
// with 6 significant digits.
std::string Text(const nlohmann::ordered_json& v);

// The document around `body`: the HTML head and end (for kHtml), and a
// malformed document (a JSON value of another type than the renderer reads)
// turned into kInvalidInput "malformed <what>: ...".
Result<std::string> RenderDocument(ReportFormat format, const std::string& what,
                                   const std::function<void(ReportWriter*)>& body);

// The level-1 heading `title`, who wrote the report and when, and the
// command (whose items must be strings).
void RenderTitle(const nlohmann::ordered_json& report, const std::string& title, ReportWriter* w);

// The "Warnings" section: the report's warnings, one row each.
void RenderWarnings(const nlohmann::ordered_json& report, ReportWriter* w);

// Renders a GGUF export's report (format "gguf"). Errors (kInvalidInput):
// a document missing what a GGUF report holds, naming it.
Result<std::string> RenderGgufReport(const nlohmann::ordered_json& report, ReportFormat format);

}  // namespace pq

#endif  // PQ_REPORT_RENDER_WRITER_H_
