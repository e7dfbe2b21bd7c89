// VersionText: what `pq --version` prints.
#include <algorithm>
#include <string>
#include <vector>

#include "build_info.h"
#include "pq/cpu_features.h"
#include "pq/version.h"

namespace pq::cli {
namespace {

std::string JoinOrNone(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

}  // namespace

std::string VersionText() {
  const std::vector<std::string> compiled = CompiledCpuFeatures();
  const std::vector<std::string> running = RunningCpuFeatures();
  std::vector<std::string> missing;
  for (const std::string& name : compiled) {
    if (std::find(running.begin(), running.end(), name) == running.end()) missing.push_back(name);
  }
  std::string text = std::string("pq ") + kVersion + "\n";
  text += std::string("commit: ") + GitCommit() + "\n";
  text += std::string("build type: ") + BuildType() + "\n";
  text += "compiled for: " + JoinOrNone(compiled) + "\n";
  text += "this CPU has: " + JoinOrNone(running);
  if (!missing.empty()) text += "\nmissing on this CPU: " + JoinOrNone(missing);
  return text;
}

}  // namespace pq::cli
