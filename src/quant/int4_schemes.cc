// int4-sym / int4-asym: weights-only blockwise round-to-nearest INT4 of 2-D
// MatMul/Gemm weights, blocks along K of the [N, K] weight (default 32),
// written as com.microsoft MatMulNBits (bits = 4). They exist to compare NF4
// against INT4 on the same weights.
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
        symmetric_(symmetric) {}
  const char* Name() const override { return symmetric_ ? "int4-sym" : "int4-asym"; }
  const char* Summary() const override {
    return symmetric_ ? "weights-only blockwise INT4 of MatMul/Gemm weights, symmetric (scale absmax/7, "
                        "zero point 0; block 32); com.microsoft MatMulNBits"
                      : "weights-only blockwise INT4 of MatMul/Gemm weights with a zero point per "
                        "block (block 32); com.microsoft MatMulNBits";
  }
  bool QuantizesActivations() const override { return false; }
  int32_t ActivationType() const override { return 0; }
  int64_t ActivationQmin() const override { return 0; }
  int64_t ActivationQmax() const override { return 0; }
  bool ActivationSymmetric() const override { return true; }
  QuantParams ActivationParams(float, float) const override { return {}; }
  bool TakesWeight(const WeightSite& site, std::string* reason) const override {
    return IsBlockwiseMatMulWeight(site, true, Name(), reason);
  }
  WeightEncoding Encoding() const override { return WeightEncoding::kMatMulNBits; }
  const char* Granularity() const override { return "per-block"; }

  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const override {
    const int64_t n = weight.shape.at(0), k = weight.shape.at(1);
    PQ_RETURN_IF_ERROR(CheckFinite(weight.name, weight.data, n * k));
    Int4Weight q = QuantizeInt4Blocks(weight.data, n, k, block_size_, symmetric_);
    QuantizedWeight out;
    out.storage_type = "uint4";  // codes 0..15; sym: zero point 8 (MatMulNBits default)
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
};

}  // namespace

std::unique_ptr<Scheme> MakeInt4SymmetricScheme(const SchemeOptions& options) {
  return std::make_unique<Int4Blockwise>(options, true);
}
std::unique_ptr<Scheme> MakeInt4AsymmetricScheme(const SchemeOptions& options) {
  return std::make_unique<Int4Blockwise>(options, false);
}

}  // namespace pq::quant
