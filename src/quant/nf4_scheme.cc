// nf4: weights-only NF4 (QLoRA NormalFloat4) of 2-D MatMul/Gemm weights,
// blockwise over the [N, K] weight flattened (default block 64), written as
// com.microsoft MatMulBnb4 ("ort") or standard ops ("onnx", optionally with
// double-quantized absmax).
#include "quant/finite_check.h"
#include "quant/nf4.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int64_t kDefaultBlockSize = 64;
constexpr int64_t kDoubleQuantBlock = 256;
constexpr int32_t kUint8 = 2;

class Nf4Scheme : public Scheme {
 public:
  explicit Nf4Scheme(const SchemeOptions& options)
      : block_size_(options.block_size > 0 ? options.block_size : kDefaultBlockSize),
        onnx_form_(options.nf4_format == "onnx"),
        double_quant_(options.double_quant && onnx_form_) {}
  const char* Name() const override { return "nf4"; }
  const char* Summary() const override {
    return "weights-only 4-bit NormalFloat of MatMul/Gemm weights, blockwise absmax (block 64); "
           "com.microsoft MatMulBnb4 or standard ops";
  }
  bool QuantizesActivations() const override { return false; }
  int32_t ActivationType() const override { return 0; }
  int64_t ActivationQmin() const override { return 0; }
  int64_t ActivationQmax() const override { return 0; }
  bool ActivationSymmetric() const override { return true; }
  QuantParams ActivationParams(float, float) const override { return {}; }
  bool TakesWeight(const WeightSite& site, std::string* reason) const override {
    return IsBlockwiseMatMulWeight(site, !onnx_form_, "nf4", reason);
  }
  WeightEncoding Encoding() const override {
    return onnx_form_ ? WeightEncoding::kCodebookDecode : WeightEncoding::kMatMulBnb4;
  }
  const char* Granularity() const override { return "per-block"; }

  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    const int64_t n = weight.shape.at(0), k = weight.shape.at(1);
    PQ_RETURN_IF_ERROR(CheckFinite(weight.name, weight.data, n * k));
    Nf4Weight nf4 = QuantizeNf4(weight.data, n * k, block_size_, onnx_form_);
    QuantizedWeight out;
    out.storage_type = "nf4";
    out.params.dtype = kUint8;
    out.params.block_size = block_size_;
    BlockwisePacked packed;
    packed.n = n;
    packed.k = k;
    packed.block_size = block_size_;
    if (onnx_form_) packed.codebook.assign(kNf4Levels.begin(), kNf4Levels.end());
    if (double_quant_) {
      DoubleQuant dq = DoubleQuantize(nf4.absmax, kDoubleQuantBlock);
      // The model's weight is level[code] * reconstructed absmax.
      nf4.error = Nf4Error(weight.data, n * k, block_size_, nf4.packed, dq.reconstructed);
      out.params.scale = dq.reconstructed;
      packed.double_quant = ScaleDoubleQuant{dq.block_size, dq.offset, std::move(dq.codes),
                                             std::move(dq.scales)};
    } else {
      out.params.scale = nf4.absmax;
      packed.scales = std::move(nf4.absmax);
    }
    packed.codes = std::move(nf4.packed);
    out.error = nf4.error;
    out.blockwise = std::move(packed);
    return out;
  }

 private:
  int64_t block_size_;
  bool onnx_form_;
  bool double_quant_;
};

}  // namespace

std::unique_ptr<Scheme> MakeNf4Scheme(const SchemeOptions& options) {
  return std::make_unique<Nf4Scheme>(options);
}

}  // namespace pq::quant
