// int8-dynamic: MatMul/Gemm weights int8 on [-127, 127] with zero point 0,
// per output channel; activations quantized at run time (uint8, the range of
// each input as it comes), so no calibration data is needed. Written as
// DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul, which ONNX Runtime
// fuses into DynamicQuantizeMatMul: the standard CPU path for transformers.
#include "pq/data_type.h"
#include "quant/linear_grid.h"
#include "quant/linear_quant.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int64_t kQmax = 127;

class Int8Dynamic : public Scheme {
 public:
  const char* Name() const override { return "int8-dynamic"; }
  const char* Summary() const override {
    return "int8 MatMul/Gemm weights per channel (zero point 0), activations quantized at run time "
           "(DynamicQuantizeMatMul in ONNX Runtime); no calibration";
  }
  bool QuantizesActivations() const override { return false; }
  int32_t ActivationType() const override { return kUint8; }
  int64_t ActivationQmin() const override { return 0; }
  int64_t ActivationQmax() const override { return 255; }
  bool ActivationSymmetric() const override { return false; }
  QuantParams ActivationParams(float, float) const override { return {}; }
  bool SymmetricWeights() const override { return true; }
  WeightEncoding Encoding() const override { return WeightEncoding::kDynamicMatMul; }
  // 2-D MatMul weights and Gemm weights with transA = 0 (MatMulInteger's B).
  bool TakesWeight(const WeightSite& site, std::string* reason) const override {
    return IsBlockwiseMatMulWeight(site, true, Name(), reason);
  }
  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    return QuantizeLinearWeight(weight, kInt8, -kQmax, kQmax, true);
  }
  std::shared_ptr<const WeightGrid> Grid(bool per_channel, bool transposed) const override {
    return MakeLinearGrid({kInt8, -kQmax, kQmax, true}, per_channel, transposed);
  }
};

}  // namespace

std::unique_ptr<Scheme> MakeInt8DynamicScheme(const SchemeOptions&) { return std::make_unique<Int8Dynamic>(); }

}  // namespace pq::quant
