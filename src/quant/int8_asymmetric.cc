// int8-asym: activations uint8 with a zero point from the calibrated range;
// weights int8 on [-128, 127] with a zero point from each channel's range, or
// (SchemeOptions::symmetric_weights) int8 on [-127, 127] with zero point 0,
// the layout ONNX Runtime's fast uint8 x int8 kernels need.
#include "quant/linear_quant.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int32_t kUint8 = 2;
constexpr int32_t kInt8 = 3;

class Int8Asymmetric : public Scheme {
 public:
  explicit Int8Asymmetric(bool symmetric_weights) : symmetric_weights_(symmetric_weights) {}
  const char* Name() const override { return "int8-asym"; }
  const char* Summary() const override {
    return "uint8 activations and int8 weights, both with zero points (asymmetric)";
  }
  bool QuantizesActivations() const override { return true; }
  int32_t ActivationType() const override { return kUint8; }
  int64_t ActivationQmin() const override { return 0; }
  int64_t ActivationQmax() const override { return 255; }
  bool ActivationSymmetric() const override { return false; }
  bool SymmetricWeights() const override { return symmetric_weights_; }
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
    if (symmetric_weights_) return QuantizeLinearWeight(weight, kInt8, -127, 127, true);
    return QuantizeLinearWeight(weight, kInt8, -128, 127, false);
  }

 private:
  bool symmetric_weights_;
};

}  // namespace

std::unique_ptr<Scheme> MakeInt8AsymmetricScheme(const SchemeOptions& options) {
  return std::make_unique<Int8Asymmetric>(options.symmetric_weights);
}

}  // namespace pq::quant
