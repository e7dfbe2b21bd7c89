// The table of quantization schemes. Adding one is one file and one row.
#include "quant/scheme.h"

namespace pq::quant {

const std::vector<SchemeEntry>& SchemeTable() {
  static const std::vector<SchemeEntry> kSchemes = {
      {"int8-sym", MakeInt8SymmetricScheme, {}},
      {"int8-asym", MakeInt8AsymmetricScheme, {kOptionAsymmetricWeights}},
      {"int8-dynamic", MakeInt8DynamicScheme, {}},
      {"nf4", MakeNf4Scheme, {kOptionBlockSize, kOptionNf4Format, kOptionDoubleQuant}},
      {"int4-sym", MakeInt4SymmetricScheme, {kOptionBlockSize, kOptionInt4Format}},
      {"int4-asym", MakeInt4AsymmetricScheme, {kOptionBlockSize, kOptionInt4Format}},
  };
  return kSchemes;
}

bool IsBlockwiseMatMulWeight(const WeightSite& site, bool fused, const char* scheme,
                             std::string* reason) {
  if (site.op_type != "MatMul" && site.op_type != "Gemm") {
    *reason = std::string(scheme) + " takes 2-D MatMul/Gemm weights, not " + site.op_type +
              " weights; left FP32 (--fallback SCHEME quantizes it)";
    return false;
  }
  if (site.dims.size() != 2) {
    *reason = std::string(scheme) + " takes 2-D weights; this one has " +
              std::to_string(site.dims.size()) + " dims; left FP32 (--fallback SCHEME quantizes it)";
    return false;
  }
  if (fused && site.trans_a) {
    *reason = std::string(scheme) + ": Gemm with transA=1 has no fused 4-bit form; left FP32";
    return false;
  }
  return true;
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
