// int8-sym: weights int8 on [-127, 127] with zero point 0 (per channel or per
// tensor); activations int8 with zero point 0.
#include "pq/data_type.h"
#include "quant/linear_grid.h"
#include "quant/linear_quant.h"
#include "quant/scheme_bases.h"

namespace pq::quant {
namespace {

constexpr int64_t kQmax = 127;

class Int8Symmetric : public GridActivationScheme {
 public:
  Int8Symmetric() : GridActivationScheme(kInt8, -kQmax, kQmax, true) {}
  const char* Name() const override { return "int8-sym"; }
  const char* Summary() const override {
    return "int8 weights and activations, symmetric (zero point 0), weights per channel";
  }
  bool SymmetricWeights() const override { return true; }
  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    return QuantizeLinearWeight(weight, kInt8, -kQmax, kQmax, true);
  }
  std::shared_ptr<const WeightGrid> Grid(bool per_channel, bool transposed) const override {
    return MakeLinearGrid({kInt8, -kQmax, kQmax, true}, per_channel, transposed);
  }
};

}  // namespace

std::unique_ptr<Scheme> MakeInt8SymmetricScheme(const SchemeOptions&) { return std::make_unique<Int8Symmetric>(); }

}  // namespace pq::quant
