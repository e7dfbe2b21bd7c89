// nf4: weights-only NF4 (QLoRA NormalFloat4) of 2-D MatMul/Gemm weights,
// blockwise over the [N, K] weight flattened (default block 64), written as
// com.microsoft MatMulBnb4 ("ort") or standard ops ("onnx", optionally with
// double-quantized absmax).
#include <optional>

#include "quant/nf4.h"
#include "quant/scheme_bases.h"

namespace pq::quant {
namespace {

constexpr int64_t kDefaultBlockSize = 64;
constexpr int64_t kDoubleQuantBlock = 256;

class Nf4Scheme : public BlockwiseWeightScheme {
 public:
  explicit Nf4Scheme(const SchemeOptions& options)
      : BlockwiseWeightScheme(options.block_size > 0 ? options.block_size : kDefaultBlockSize,
                              options.nf4_format == "onnx"),
        double_quant_block_(options.double_quant && standard_ops() ? std::optional<int64_t>(kDoubleQuantBlock)
                                                                   : std::nullopt) {}
  const char* Name() const override { return "nf4"; }
  const char* Summary() const override {
    return "weights-only 4-bit NormalFloat of MatMul/Gemm weights, blockwise absmax (block 64); "
           "com.microsoft MatMulBnb4 or standard ops";
  }
  WeightEncoding Encoding() const override {
    return standard_ops() ? WeightEncoding::kCodebookDecode : WeightEncoding::kMatMulBnb4;
  }

  // NF4 blocks the flattened [N, K] weight.
  bool BlocksFollowRows(int64_t k) const override { return k % block_size() == 0; }
  BlockParams FitBlock(const float* w, int64_t count) const override {
    BlockParams p;
    p.scale = Nf4Absmax(w, count);
    p.zero_point = 0;
    return p;
  }
  float RoundToGrid(float w, const BlockParams& params) const override {
    return Nf4RoundToGrid(w, params.scale);
  }

  QuantizedWeight QuantizeBlocks(const float* values, int64_t n, int64_t k,
                                 const BlockEncoding& encoding) const override {
    Nf4Weight nf4 = QuantizeNf4(values, n * k, block_size(), standard_ops(), encoding);
    QuantizedWeight out = NewBlockwiseWeight(n, k, "nf4");
    BlockwisePacked& packed = *out.blockwise;
    if (standard_ops()) packed.codebook.assign(kNf4Levels.begin(), kNf4Levels.end());
    if (double_quant_block_) {
      DoubleQuant dq = DoubleQuantize(nf4.absmax, *double_quant_block_);
      // The model's weight is level[code] * reconstructed absmax.
      nf4.error = Nf4Error(encoding.reference != nullptr ? encoding.reference : values, n * k, block_size(),
                           nf4.packed, dq.reconstructed, encoding.dequantized);
      out.params.scale = dq.reconstructed;
      packed.double_quant = ScaleDoubleQuant{dq.block_size, dq.offset, std::move(dq.codes),
                                             std::move(dq.scales)};
    } else {
      out.params.scale = nf4.absmax;
      packed.scales = std::move(nf4.absmax);
    }
    packed.codes = std::move(nf4.packed);
    out.error = nf4.error;
    return out;
  }

 private:
  // Absmax values double-quantized in blocks of this many; none when unset.
  std::optional<int64_t> double_quant_block_;
};

}  // namespace

std::unique_ptr<Scheme> MakeNf4Scheme(const SchemeOptions& options) {
  return std::make_unique<Nf4Scheme>(options);
}

}  // namespace pq::quant
