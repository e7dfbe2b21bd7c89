// Base classes for the two families of schemes, so that each scheme file
// holds only what makes it different.
//   GridActivationScheme: static schemes whose activations are quantized per
//     tensor on a fixed integer grid (int8-sym, int8-asym).
//   BlockwiseWeightScheme: weights-only schemes that store 2-D MatMul/Gemm
//     weights in blocks (nf4, int4-*).
#ifndef PQ_QUANT_SCHEME_BASES_H_
#define PQ_QUANT_SCHEME_BASES_H_

#include <cstdint>

#include "quant/scheme.h"

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

class BlockwiseWeightScheme : public Scheme {
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
  // Checks the [N, K] weight (shape and finite values, naming the tensor)
  // and hands it to QuantizeBlocks.
  Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const final;

 protected:
  // Quantizes the finite [n, k] weight `values` (row-major).
  virtual QuantizedWeight QuantizeBlocks(const float* values, int64_t n, int64_t k) const = 0;
  // A quantized [n, k] weight stored as `storage_type` in blocks of
  // block_size(): params.dtype uint8 (packed bytes), params.block_size and
  // blockwise's dims set; the scheme fills in codes, scales and the error.
  QuantizedWeight NewBlockwiseWeight(int64_t n, int64_t k, const char* storage_type) const;
  int64_t block_size() const { return block_size_; }
  bool standard_ops() const { return standard_ops_; }

 private:
  int64_t block_size_;
  bool standard_ops_;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_SCHEME_BASES_H_
