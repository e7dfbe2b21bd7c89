// awq: the weight-rounding row of AWQ. The work happens before Decide, in
// the AWQ stage (awq_stage.h), which searches the scales and rewrites the
// model so that each weight it scaled already holds W diag(s); here those
// weights, like the ones it left alone, are rounded to nearest on their
// scheme's grid, and carry the stage's record.
#include "quant/weight_rounding.h"

namespace pq::quant {
namespace {

class Awq : public WeightRounding {
 public:
  const char* Name() const override { return "awq"; }
  bool NeedsCalibrationData() const override { return true; }
  bool ScalesInputs() const override { return true; }
  bool TakesScheme(const Scheme& scheme, std::string* reason) const override {
    return TakesGridScheme(scheme, "awq scales and rounds", reason);
  }

  Result<QuantizedWeight> Round(const Scheme& scheme, const WeightView& weight,
                                const RoundingInputs& inputs) const override {
    Result<QuantizedWeight> q = scheme.QuantizeWeight(weight);
    if (!q.ok()) return q;
    if (inputs.planned != nullptr) {
      q->rounding = *inputs.planned;
      return q;
    }
    WeightRoundingRecord record;
    record.requested = Name();
    record.applied = "rtn";
    record.fallback = scheme.Grid(true, false) == nullptr ? std::string(scheme.Name()) + " has no grid"
                                                          : "the AWQ stage did not consider it";
    q->rounding = std::move(record);
    return q;
  }
};

}  // namespace

std::unique_ptr<WeightRounding> MakeAwq(const WeightRoundingOptions& /*options*/) { return std::make_unique<Awq>(); }

}  // namespace pq::quant
