// Base classes for the two families of schemes, so that each scheme file
// holds only what makes it different.
//   GridActivationScheme: static schemes whose activations are quantized per
//     tensor on a fixed integer grid (int8-sym, int8-asym).
//   BlockwiseWeightScheme: weights-only schemes that store 2-D MatMul/Gemm
//     weights in blocks (nf4, int4-*).
#ifndef PQ_QUANT_SCHEME_BASES_H_
#define PQ_QUANT_SCHEME_BASES_H_

#include <cstdint>
#include <vector>

#include "quant/scheme.h"
#include "quant/weight_grid.h"

namespace pq::quant {

class GridActivationScheme : public Scheme {
 public:
  // REQUIRES: qmin < qmax; qmin < 0 < qmax when symmetric.
  GridActivationScheme(int32_t dtype, int64_t qmin, int64_t qmax, bool symmetric)
      : dtype_(dtype), qmin_(qmin), qmax_(qmax), symmetric_(symmetric) {}
  bool QuantizesActivations() const override { return true; }
  int32_t ActivationType() const override { return dtype_; }
  int64_t ActivationQmin() const override { return qmin_; }
  int64_t ActivationQmax() const override { return qmax_; }
  bool ActivationSymmetric() const override { return symmetric_; }
  // One scale and zero point of the grid's dtype for [min, max] (ChooseParams).
  QuantParams ActivationParams(float min, float max) const override;

 private:
  int32_t dtype_;
  int64_t qmin_, qmax_;
  bool symmetric_;
};

class BlockwiseWeightScheme : public Scheme, public WeightGrid {
 public:
  // `standard_ops`: written with standard ONNX ops (the "onnx" format)
  // rather than a fused com.microsoft MatMul (the "ort" format).
  BlockwiseWeightScheme(int64_t block_size, bool standard_ops)
      : block_size_(block_size), standard_ops_(standard_ops) {}
  bool QuantizesActivations() const override { return false; }
  int32_t ActivationType() const override { return 0; }
  int64_t ActivationQmin() const override { return 0; }
  int64_t ActivationQmax() const override { return 0; }
  bool ActivationSymmetric() const override { return true; }
  QuantParams ActivationParams(float, float) const override { return {}; }
  const char* Granularity() const override { return "per-block"; }
  // 2-D MatMul/Gemm weights (IsBlockwiseMatMulWeight; the fused forms also
  // need Gemm's transA = 0).
  bool TakesWeight(const WeightSite& site, std::string* reason) const override {
    return IsBlockwiseMatMulWeight(site, !standard_ops_, Name(), reason);
  }
  const BlockwiseWeightScheme* AsBlockwise() const override { return this; }
  // The scheme itself, not owned (the returned pointer shares no ownership).
  std::shared_ptr<const WeightGrid> Grid(bool per_channel, bool transposed) const override;
  // Checks the [N, K] weight (shape and finite values, naming the tensor)
  // and hands it to QuantizeBlocks with each block's own parameters.
  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const final;

  // The grid, for rounding algorithms that choose grid values themselves
  // (GPTQ). A weight seen as [n, k] is cut into blocks of block_size().
  // When BlocksFollowRows(k), block b of row r holds elements
  // [b * block_size, min(k, (b + 1) * block_size)) of row r and is numbered
  // r * ceil(k / block_size) + b; otherwise the scheme blocks the flattened
  // weight, block b holding flat elements [b * block_size, (b + 1) *
  // block_size) (the last one partial).
  int64_t block_size() const { return block_size_; }
  // Whether the blocks of an [n, k] weight follow its rows; true unless a
  // scheme blocks the flattened weight (nf4) and k is not a multiple of
  // block_size().
  virtual bool BlocksFollowRows(int64_t /*k*/) const { return true; }
  // The number of blocks of an [n, k] weight, and the block that element
  // (r, c) lies in.
  int64_t BlockCount(int64_t n, int64_t k) const override;
  int64_t BlockOf(int64_t r, int64_t c, int64_t k) const override;
  // block_size() when BlocksFollowRows(k), else 0.
  int64_t RowBlockLength(int64_t k) const override { return BlocksFollowRows(k) ? block_size_ : 0; }
  // FitBlock of every block of the finite [n, k] weight `w`, in block order:
  // the parameters QuantizeWeight uses.
  std::vector<BlockParams> FitBlocks(const float* w, int64_t n, int64_t k) const override;
  // (FitBlock and RoundToGrid: see WeightGrid; RoundToGrid gives the grid
  // value QuantizeWeight would code `w` as.)
  // Quantizes `weight` ([N, K], as QuantizeWeight) with the given parameters
  // (BlockCount of them, numbered as above): each of `values` (the [N, K]
  // values to code, e.g. already on the grid) is coded as RoundToGrid codes
  // it, and the error is measured against weight.data. `dequantized` (may be
  // null) receives the N * K values the written model reads back.
  // Errors: Internal when the number of parameters is not BlockCount; those
  // of QuantizeWeight.
  Result<QuantizedWeight> QuantizeWithParams(const WeightView& weight, const float* values,
                                             const std::vector<BlockParams>& params,
                                             std::vector<float>* dequantized) const override;

 protected:
  // Quantizes the finite [n, k] weight `values` (row-major) as `encoding`
  // says (its parameters, when given, follow the rows).
  virtual QuantizedWeight QuantizeBlocks(const float* values, int64_t n, int64_t k,
                                         const BlockEncoding& encoding) const = 0;
  // A quantized [n, k] weight stored as `storage_type` in blocks of
  // block_size(): params.dtype uint8 (packed bytes), params.block_size and
  // blockwise's dims set; the scheme fills in codes, scales and the error.
  QuantizedWeight NewBlockwiseWeight(int64_t n, int64_t k, const char* storage_type) const;
  bool standard_ops() const { return standard_ops_; }

 private:
  int64_t block_size_;
  bool standard_ops_;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_SCHEME_BASES_H_
