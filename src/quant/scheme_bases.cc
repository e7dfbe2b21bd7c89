#include "quant/scheme_bases.h"

#include "pq/data_type.h"
#include "quant/finite_check.h"
#include "quant/linear_quant.h"

namespace pq::quant {

QuantParams GridActivationScheme::ActivationParams(float min, float max) const {
  QuantParams p;
  p.dtype = dtype_;
  float scale;
  int64_t zero_point;
  ChooseParams(min, max, qmin_, qmax_, symmetric_, &scale, &zero_point);
  p.scale = {scale};
  p.zero_point = {zero_point};
  return p;
}

Result<QuantizedWeight> BlockwiseWeightScheme::QuantizeWeight(const WeightView& weight) const {
  if (weight.shape.size() != 2) {
    return Status::Internal("blockwise scheme: weight '" + weight.name + "' is not seen as [N, K]");
  }
  const int64_t n = weight.shape[0], k = weight.shape[1];
  PQ_RETURN_IF_ERROR(CheckFinite(weight.name, weight.data, n * k));
  return QuantizeBlocks(weight.data, n, k, {});
}

Result<QuantizedWeight> BlockwiseWeightScheme::QuantizeWithParams(const WeightView& weight,
                                                                  const float* values,
                                                                  const std::vector<BlockParams>& params,
                                                                  std::vector<float>* dequantized) const {
  if (weight.shape.size() != 2) {
    return Status::Internal("blockwise scheme: weight '" + weight.name + "' is not seen as [N, K]");
  }
  const int64_t n = weight.shape[0], k = weight.shape[1];
  const int64_t blocks = n * ((k + block_size_ - 1) / block_size_);
  if (!BlocksFollowRows(k) || static_cast<int64_t>(params.size()) != blocks) {
    return Status::Internal(std::string(Name()) + ": weight '" + weight.name + "' [" + std::to_string(n) +
                            ", " + std::to_string(k) + "] given " + std::to_string(params.size()) +
                            " block parameters for blocks that follow its rows");
  }
  PQ_RETURN_IF_ERROR(CheckFinite(weight.name, weight.data, n * k));
  PQ_RETURN_IF_ERROR(CheckFinite(weight.name, values, n * k));
  BlockEncoding encoding;
  encoding.params = params.data();
  encoding.reference = weight.data;
  if (dequantized != nullptr) {
    dequantized->resize(static_cast<size_t>(n * k));
    encoding.dequantized = dequantized->data();
  }
  return QuantizeBlocks(values, n, k, encoding);
}

QuantizedWeight BlockwiseWeightScheme::NewBlockwiseWeight(int64_t n, int64_t k,
                                                          const char* storage_type) const {
  QuantizedWeight out;
  out.storage_type = storage_type;
  out.params.dtype = kUint8;
  out.params.block_size = block_size_;
  BlockwisePacked packed;
  packed.n = n;
  packed.k = k;
  packed.block_size = block_size_;
  out.blockwise = std::move(packed);
  return out;
}

}  // namespace pq::quant
