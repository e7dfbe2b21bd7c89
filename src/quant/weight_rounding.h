// Weight rounding: how a weight's FP32 values are put onto its scheme's grid.
// The scheme owns the grid (which values exist, how scales and zero points
// are chosen); a rounding algorithm decides which grid value each weight
// takes. Round-to-nearest asks the scheme directly; algorithms that use
// calibration data (GPTQ, AWQ, ...) are further rows of the table, reading
// what they need from RoundingInputs. Adding one is one file and one row in
// weight_rounding.cc.
#ifndef PQ_QUANT_WEIGHT_ROUNDING_H_
#define PQ_QUANT_WEIGHT_ROUNDING_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

// What a rounding algorithm is handed besides the weight: the node that
// reads it. Data-aware algorithms add their statistics here.
struct RoundingInputs {
  std::string node;
  std::string op_type;
};

class WeightRounding {
 public:
  virtual ~WeightRounding() = default;
  virtual const char* Name() const = 0;
  // Quantizes `weight` onto `scheme`'s grid. Same contract and errors as
  // Scheme::QuantizeWeight.
  virtual Result<QuantizedWeight> Round(const Scheme& scheme, const WeightView& weight,
                                        const RoundingInputs& inputs) const = 0;
};

struct WeightRoundingEntry {
  const char* name;
  const char* summary;  // one line for --help
  std::unique_ptr<WeightRounding> (*create)();
};

// Every registered algorithm, in --help order ("rtn" first, the default).
const std::vector<WeightRoundingEntry>& WeightRoundingTable();

// Errors (kInvalidArgument): an unknown name, listing the known ones.
Result<std::unique_ptr<WeightRounding>> MakeWeightRounding(const std::string& name);

std::unique_ptr<WeightRounding> MakeRoundToNearest();

}  // namespace pq::quant

#endif  // PQ_QUANT_WEIGHT_ROUNDING_H_
