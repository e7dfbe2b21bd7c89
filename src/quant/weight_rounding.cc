// The table of weight-rounding algorithms.
#include "quant/weight_rounding.h"

#include "quant/weight_grid.h"

namespace pq::quant {

const std::vector<WeightRoundingEntry>& WeightRoundingTable() {
  static const std::vector<WeightRoundingEntry> kAlgorithms = {
      {"rtn", "round to nearest on the scheme's grid (no calibration data)", MakeRoundToNearest},
      {"gptq",
       "GPTQ: columns rounded in turn, each one's error spread over the rest by X^T X of the layer "
       "input from --calib (nf4, int4-*, int8-* weights; --gptq-damp, --gptq-act-order)",
       MakeGptq},
      {"awq",
       "AWQ: per-input-feature scales s = mean|x|^alpha (alpha searched per group of weights sharing an "
       "input, by X^T X from --calib), W diag(s) rounded to nearest, 1/s folded into the input's producer "
       "(nf4, int4-*, int8-* weights)",
       MakeAwq},
  };
  return kAlgorithms;
}

bool TakesGridScheme(const Scheme& scheme, const std::string& does, std::string* reason) {
  if (scheme.Grid(true, false) != nullptr) return true;
  std::string names;
  for (const SchemeEntry& entry : SchemeTable()) {
    if (entry.create({})->Grid(true, false) != nullptr) names += (names.empty() ? "" : ", ") + std::string(entry.name);
  }
  *reason = "--weight-algo " + does + " the weights of the schemes with a grid (" + names + "), not " +
            scheme.Name() + " (use --weight-algo rtn)";
  return false;
}

Result<std::unique_ptr<WeightRounding>> MakeWeightRounding(const std::string& name,
                                                           const WeightRoundingOptions& options) {
  std::string names;
  for (const WeightRoundingEntry& entry : WeightRoundingTable()) {
    if (name == entry.name) return entry.create(options);
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  }
  return Status::InvalidArgument("unknown weight rounding '" + name + "' (known: " + names + ")");
}

}  // namespace pq::quant
