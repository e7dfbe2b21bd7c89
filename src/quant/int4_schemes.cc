// int4-sym / int4-asym: weights-only blockwise round-to-nearest INT4 of 2-D
// MatMul/Gemm weights, blocks along K of the [N, K] weight (default 32),
// written as com.microsoft MatMulNBits (bits = 4) ("ort") or as INT4 / UINT4
// read by an opset-21 DequantizeLinear with block_size ("onnx"; same codes and
// scales, see blocked_dq_writer.h). They exist to compare NF4 against INT4 on
// the same weights.
#include "quant/finite_check.h"
#include "quant/int4_blockwise.h"
#include "quant/scheme.h"

namespace pq::quant {
namespace {

constexpr int64_t kDefaultBlockSize = 32;
constexpr int32_t kUint8 = 2;

class Int4Blockwise : public Scheme {
 public:
  Int4Blockwise(const SchemeOptions& options, bool symmetric)
      : block_size_(options.block_size > 0 ? options.block_size : kDefaultBlockSize),
        symmetric_(symmetric),
        onnx_form_(options.int4_format == "onnx") {}
  const char* Name() const override { return symmetric_ ? "int4-sym" : "int4-asym"; }
  const char* Summary() const override {
    return symmetric_ ? "weights-only blockwise INT4 of MatMul/Gemm weights, symmetric (scale absmax/7, "
                        "zero point 0; block 32); com.microsoft MatMulNBits or DequantizeLinear-21"
                      : "weights-only blockwise INT4 of MatMul/Gemm weights with a zero point per "
                        "block (block 32); com.microsoft MatMulNBits or DequantizeLinear-21";
  }
  bool QuantizesActivations() const override { return false; }
  int32_t ActivationType() const override { return 0; }
  int64_t ActivationQmin() const override { return 0; }
  int64_t ActivationQmax() const override { return 0; }
  bool ActivationSymmetric() const override { return true; }
  QuantParams ActivationParams(float, float) const override { return {}; }
  bool TakesWeight(const WeightSite& site, std::string* reason) const override {
    return IsBlockwiseMatMulWeight(site, !onnx_form_, Name(), reason);
  }
  WeightEncoding Encoding() const override {
    return onnx_form_ ? WeightEncoding::kBlockedDequantizeLinear : WeightEncoding::kMatMulNBits;
  }
  const char* Granularity() const override { return "per-block"; }

  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    const int64_t n = weight.shape.at(0), k = weight.shape.at(1);
    PQ_RETURN_IF_ERROR(CheckFinite(weight.name, weight.data, n * k));
    Int4Weight q = QuantizeInt4Blocks(weight.data, n, k, block_size_, symmetric_);
    QuantizedWeight out;
    // MatMulNBits: codes 0..15 (sym: zero point 8, its default). onnx: the
    // writer stores sym codes as int4 q = code - 8 (blocked_dq_writer.h).
    out.storage_type = onnx_form_ && symmetric_ ? "int4" : "uint4";
    out.params.dtype = kUint8;
    out.params.block_size = block_size_;
    out.params.axis = 1;  // blocks run along K of [N, K]
    out.params.scale = q.scales;
    out.params.zero_point = std::move(q.zero_points);
    BlockwisePacked packed;
    packed.n = n;
    packed.k = k;
    packed.block_size = block_size_;
    packed.codes = std::move(q.packed);
    packed.scales = std::move(q.scales);
    packed.zero_points = std::move(q.packed_zero_points);
    out.error = q.error;
    out.blockwise = std::move(packed);
    return out;
  }

 private:
  int64_t block_size_;
  bool symmetric_;
  bool onnx_form_;
};

}  // namespace

std::unique_ptr<Scheme> MakeInt4SymmetricScheme(const SchemeOptions& options) {
  return std::make_unique<Int4Blockwise>(options, true);
}
std::unique_ptr<Scheme> MakeInt4AsymmetricScheme(const SchemeOptions& options) {
  return std::make_unique<Int4Blockwise>(options, false);
}

}  // namespace pq::quant
