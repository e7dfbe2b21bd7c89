// int4-sym / int4-asym: weights-only blockwise round-to-nearest INT4 of 2-D
// MatMul/Gemm weights, blocks along K of the [N, K] weight (default 32),
// written as com.microsoft MatMulNBits (bits = 4) ("ort") or as INT4 / UINT4
// read by an opset-21 DequantizeLinear with block_size ("onnx"; same codes and
// scales, see blocked_dq_writer.h). They exist to compare NF4 against INT4 on
// the same weights.
#include "quant/int4_blockwise.h"
#include "quant/scheme_bases.h"

namespace pq::quant {
namespace {

constexpr int64_t kDefaultBlockSize = 32;

class Int4Blockwise : public BlockwiseWeightScheme {
 public:
  Int4Blockwise(const SchemeOptions& options, bool symmetric)
      : BlockwiseWeightScheme(options.block_size > 0 ? options.block_size : kDefaultBlockSize,
                              options.int4_format == "onnx"),
        symmetric_(symmetric) {}
  const char* Name() const override { return symmetric_ ? "int4-sym" : "int4-asym"; }
  const char* Summary() const override {
    return symmetric_ ? "weights-only blockwise INT4 of MatMul/Gemm weights, symmetric (scale absmax/7, "
                        "zero point 0; block 32); com.microsoft MatMulNBits or DequantizeLinear-21"
                      : "weights-only blockwise INT4 of MatMul/Gemm weights with a zero point per "
                        "block (block 32); com.microsoft MatMulNBits or DequantizeLinear-21";
  }
  WeightEncoding Encoding() const override {
    return standard_ops() ? WeightEncoding::kBlockedDequantizeLinear : WeightEncoding::kMatMulNBits;
  }

  BlockParams FitBlock(const float* w, int64_t count) const override {
    return FitInt4Block(w, count, symmetric_);
  }
  float RoundToGrid(float w, const BlockParams& params) const override {
    return Int4RoundToGrid(w, params, symmetric_);
  }

  QuantizedWeight QuantizeBlocks(const float* values, int64_t n, int64_t k,
                                 const BlockEncoding& encoding) const override {
    Int4Weight q = QuantizeInt4Blocks(values, n, k, block_size(), symmetric_, encoding);
    // MatMulNBits: codes 0..15 (sym: zero point 8, its default). onnx: the
    // writer stores sym codes as int4 q = code - 8 (blocked_dq_writer.h).
    QuantizedWeight out = NewBlockwiseWeight(n, k, standard_ops() && symmetric_ ? "int4" : "uint4");
    out.params.axis = 1;  // blocks run along K of [N, K]
    out.params.scale = q.scales;
    out.params.zero_point = std::move(q.zero_points);
    out.blockwise->codes = std::move(q.packed);
    out.blockwise->scales = std::move(q.scales);
    out.blockwise->zero_points = std::move(q.packed_zero_points);
    out.error = q.error;
    return out;
  }

 private:
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
