// rtn: round to nearest. Each weight takes the grid value nearest to it, as
// the scheme's own QuantizeWeight computes it.
#include "quant/weight_rounding.h"

namespace pq::quant {
namespace {

class RoundToNearest : public WeightRounding {
 public:
  const char* Name() const override { return "rtn"; }
  Result<QuantizedWeight> Round(const Scheme& scheme, const WeightView& weight,
                                const RoundingInputs& /*inputs*/) const override {
    return scheme.QuantizeWeight(weight);
  }
};

}  // namespace

std::unique_ptr<WeightRounding> MakeRoundToNearest(const WeightRoundingOptions& /*options*/) {
  return std::make_unique<RoundToNearest>();
}

}  // namespace pq::quant
