// int8-asym: activations uint8 with a zero point from the calibrated range;
// weights int8 on [-128, 127] with a zero point from each channel's range.
#include "quant/linear_quant.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int32_t kUint8 = 2;
constexpr int32_t kInt8 = 3;

class Int8Asymmetric : public Scheme {
 public:
  const char* Name() const override { return "int8-asym"; }
  const char* Summary() const override {
    return "uint8 activations and int8 weights, both with zero points (asymmetric)";
  }
  bool QuantizesActivations() const override { return true; }
  int32_t ActivationType() const override { return kUint8; }
  int64_t ActivationQmin() const override { return 0; }
  int64_t ActivationQmax() const override { return 255; }
  bool ActivationSymmetric() const override { return false; }
  QuantParams ActivationParams(float min, float max) const override {
    QuantParams p;
    p.dtype = kUint8;
    float scale;
    int64_t zero_point;
    ChooseParams(min, max, 0, 255, false, &scale, &zero_point);
    p.scale = {scale};
    p.zero_point = {zero_point};
    return p;
  }
  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    return QuantizeLinearWeight(weight, kInt8, -128, 127, false);
  }
};

}  // namespace

std::unique_ptr<Scheme> MakeInt8AsymmetricScheme() { return std::make_unique<Int8Asymmetric>(); }

}  // namespace pq::quant
