// int8-asym: activations uint8 with a zero point from the calibrated range;
// weights int8 on [-127, 127] with zero point 0 (the layout ONNX Runtime's
// fast uint8 x int8 kernels need, and TFLite's int8 specification), or
// (SchemeOptions::asymmetric_weights) int8 on [-128, 127] with a zero point
// from each channel's range, which sends ONNX Runtime's QLinearConv to a
// slower path.
#include "pq/data_type.h"
#include "quant/linear_grid.h"
#include "quant/linear_quant.h"
#include "quant/scheme_bases.h"

namespace pq::quant {
namespace {

class Int8Asymmetric : public GridActivationScheme {
 public:
  explicit Int8Asymmetric(bool symmetric_weights)
      : GridActivationScheme(kUint8, 0, 255, false), symmetric_weights_(symmetric_weights) {}
  const char* Name() const override { return "int8-asym"; }
  const char* Summary() const override {
    return "uint8 activations with zero points (asymmetric), int8 weights with zero point 0 "
           "(--asymmetric-weights: with zero points)";
  }
  bool SymmetricWeights() const override { return symmetric_weights_; }
  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    if (symmetric_weights_) return QuantizeLinearWeight(weight, kInt8, -127, 127, true);
    return QuantizeLinearWeight(weight, kInt8, -128, 127, false);
  }
  // The same grid as QuantizeWeight.
  std::shared_ptr<const WeightGrid> Grid(bool per_channel, bool transposed) const override {
    const LinearGridSpec spec = symmetric_weights_ ? LinearGridSpec{kInt8, -127, 127, true}
                                                   : LinearGridSpec{kInt8, -128, 127, false};
    return MakeLinearGrid(spec, per_channel, transposed);
  }

 private:
  bool symmetric_weights_;
};

}  // namespace

std::unique_ptr<Scheme> MakeInt8AsymmetricScheme(const SchemeOptions& options) {
  return std::make_unique<Int8Asymmetric>(!options.asymmetric_weights);
}

}  // namespace pq::quant
