// JUnit XML of gate results, as GitLab, Jenkins and GitHub render test reports.
#include <cstdio>

#include "pq/validate.h"

namespace pq {
namespace {

std::string Escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 has no other control characters than tab, newline, return.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace

std::string GatesToJunit(const std::string& suite, const std::vector<GateResult>& results) {
  int64_t failures = 0;
  for (const GateResult& r : results) failures += r.passed ? 0 : 1;
  const size_t cases = results.empty() ? 1 : results.size();
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites tests=\"" + std::to_string(cases) + "\" failures=\"" + std::to_string(failures) + "\">\n";
  xml += "  <testsuite name=\"" + Escaped(suite) + "\" tests=\"" + std::to_string(cases) +
         "\" failures=\"" + std::to_string(failures) + "\" errors=\"0\" skipped=\"0\">\n";
  if (results.empty()) {
    // No gate was set: one passing case says the comparison ran.
    xml += "    <testcase classname=\"pq.validation\" name=\"comparison (no gates set)\"/>\n";
  }
  for (const GateResult& r : results) {
    std::string name = r.gate + " on " + r.output;
    if (!r.detail.empty()) name += " (" + r.detail + ")";
    xml += "    <testcase classname=\"pq.gates\" name=\"" + Escaped(name) + "\"";
    if (r.passed) {
      xml += "/>\n";
      continue;
    }
    const std::string message = DescribeGate(r);
    xml += ">\n      <failure type=\"gate\" message=\"" + Escaped(message) + "\">" + Escaped(message) +
           "</failure>\n    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace pq
