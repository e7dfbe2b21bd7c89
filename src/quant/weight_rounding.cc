// The table of weight-rounding algorithms.
#include "quant/weight_rounding.h"

namespace pq::quant {

const std::vector<WeightRoundingEntry>& WeightRoundingTable() {
  static const std::vector<WeightRoundingEntry> kAlgorithms = {
      {"rtn", "round to nearest on the scheme's grid (no calibration data)", MakeRoundToNearest},
  };
  return kAlgorithms;
}

Result<std::unique_ptr<WeightRounding>> MakeWeightRounding(const std::string& name) {
  std::string names;
  for (const WeightRoundingEntry& entry : WeightRoundingTable()) {
    if (name == entry.name) return entry.create();
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  }
  return Status::InvalidArgument("unknown weight rounding '" + name + "' (known: " + names + ")");
}

}  // namespace pq::quant
