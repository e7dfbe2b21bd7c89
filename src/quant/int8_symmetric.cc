// int8-sym: weights int8 on [-127, 127] with zero point 0 (per channel or per
// tensor); activations int8 with zero point 0.
#include "quant/linear_quant.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int32_t kInt8 = 3;
constexpr int64_t kQmax = 127;

class Int8Symmetric : public Scheme {
 public:
  const char* Name() const override { return "int8-sym"; }
  const char* Summary() const override {
    return "int8 weights and activations, symmetric (zero point 0), weights per channel";
  }
  bool QuantizesActivations() const override { return true; }
  int32_t ActivationType() const override { return kInt8; }
  int64_t ActivationQmin() const override { return -kQmax; }
  int64_t ActivationQmax() const override { return kQmax; }
  bool ActivationSymmetric() const override { return true; }
  bool SymmetricWeights() const override { return true; }
  QuantParams ActivationParams(float min, float max) const override {
    QuantParams p;
    p.dtype = kInt8;
    float scale;
    int64_t zero_point;
    ChooseParams(min, max, -kQmax, kQmax, true, &scale, &zero_point);
    p.scale = {scale};
    p.zero_point = {zero_point};
    return p;
  }
  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    return QuantizeLinearWeight(weight, kInt8, -kQmax, kQmax, true);
  }
};

}  // namespace

std::unique_ptr<Scheme> MakeInt8SymmetricScheme(const SchemeOptions&) { return std::make_unique<Int8Symmetric>(); }

}  // namespace pq::quant
