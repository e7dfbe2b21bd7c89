#include <filesystem>

#include "pq/model.h"

namespace pq {

Status CheckOutputPaths(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs,
                        bool force) {
  std::error_code ec;
  for (size_t i = 0; i < outputs.size(); ++i) {
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      const auto a = std::filesystem::weakly_canonical(outputs[i], ec);
      const auto b = std::filesystem::weakly_canonical(outputs[j], ec);
      if (outputs[i] == outputs[j] || (!a.empty() && a == b)) {
        return Status::OutputError(outputs[j] + ": is also " + outputs[i] +
                                   ", another output; refusing to write both to one file");
      }
    }
  }
  for (const std::string& out : outputs) {
    for (const std::string& in : inputs) {
      if (std::filesystem::equivalent(out, in, ec)) {
        return Status::OutputError(out + ": is an input; refusing to overwrite it");
      }
    }
  }
  if (force) return Status::OK();
  for (const std::string& out : outputs) {
    if (std::filesystem::symlink_status(out, ec).type() != std::filesystem::file_type::not_found) {
      return Status::OutputError(out + ": already exists (pass --force to overwrite it)");
    }
  }
  return Status::OK();
}

}  // namespace pq
