// The table of quantization schemes. Adding one is one file and one row.
#include "quant/scheme.h"

namespace pq::quant {

const std::vector<SchemeEntry>& SchemeTable() {
  static const std::vector<SchemeEntry> kSchemes = {
      {"int8-sym", MakeInt8SymmetricScheme},
      {"int8-asym", MakeInt8AsymmetricScheme},
  };
  return kSchemes;
}

Result<std::unique_ptr<Scheme>> MakeScheme(const std::string& name, const SchemeOptions& options) {
  std::string names;
  for (const SchemeEntry& entry : SchemeTable()) {
    if (name == entry.name) return entry.create(options);
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  }
  return Status::InvalidArgument("unknown scheme '" + name + "' (schemes: " + names + ")");
}

}  // namespace pq::quant
