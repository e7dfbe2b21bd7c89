#include "config_overrides.h"

#include <fstream>
#include <sstream>

namespace pq::cli {
namespace {

constexpr const char* kSection = "quantize.overrides";

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r") + 1 - begin);
}

// Reads a quoted ('…' or "…", with \" and \\ in "…") or bare token from
// `line` at `*pos`; false when there is none.
bool Token(const std::string& line, size_t* pos, bool bare_ok, std::string* out) {
  size_t i = line.find_first_not_of(" \t", *pos);
  if (i == std::string::npos) return false;
  out->clear();
  const char quote = line[i];
  if (quote == '"' || quote == '\'') {
    for (++i; i < line.size() && line[i] != quote; ++i) {
      if (quote == '"' && line[i] == '\\' && i + 1 < line.size()) ++i;
      out->push_back(line[i]);
    }
    if (i >= line.size()) return false;
    *pos = i + 1;
    return true;
  }
  if (!bare_ok) return false;
  const size_t end = line.find_first_of(" \t=", i);
  *out = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
  *pos = end == std::string::npos ? line.size() : end;
  return !out->empty();
}

}  // namespace

Result<std::vector<WeightOverride>> ParseConfigOverrides(const std::string& text, const std::string& origin) {
  std::vector<WeightOverride> overrides;
  std::istringstream in(text);
  std::string raw;
  bool inside = false;
  for (int number = 1; std::getline(in, raw); ++number) {
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      const size_t close = line.find(']');
      inside = close != std::string::npos && Trim(line.substr(1, close - 1)) == kSection;
      continue;
    }
    if (!inside) continue;
    size_t pos = 0;
    WeightOverride o;
    const std::string where = origin + " line " + std::to_string(number);
    if (!Token(line, &pos, true, &o.pattern)) {
      return Status::InvalidArgument(where + ": expected \"PATTERN\" = \"SCHEME\" in [" + kSection + "]");
    }
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string::npos || line[pos] != '=') {
      return Status::InvalidArgument(where + ": expected = after the pattern '" + o.pattern + "'");
    }
    ++pos;
    if (!Token(line, &pos, false, &o.scheme)) {
      return Status::InvalidArgument(where + ": the value of pattern '" + o.pattern +
                                     "' must be a quoted scheme name or \"keep\"");
    }
    const std::string rest = Trim(line.substr(pos));
    if (!rest.empty() && rest[0] != '#') {
      return Status::InvalidArgument(where + ": unexpected '" + rest + "' after the value of '" + o.pattern + "'");
    }
    overrides.push_back(std::move(o));
  }
  return overrides;
}

Result<std::vector<WeightOverride>> ReadConfigOverrides(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::InvalidArgument(path + ": cannot read the --config file");
  std::ostringstream text;
  text << file.rdbuf();
  return ParseConfigOverrides(text.str(), path);
}

}  // namespace pq::cli
