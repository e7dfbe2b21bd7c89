#include "quant/scheme_bases.h"

#include <algorithm>

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
  if (static_cast<int64_t>(params.size()) != BlockCount(n, k)) {
    return Status::Internal(std::string(Name()) + ": weight '" + weight.name + "' [" + std::to_string(n) +
                            ", " + std::to_string(k) + "] given " + std::to_string(params.size()) +
                            " block parameters for " + std::to_string(BlockCount(n, k)) + " blocks");
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

std::shared_ptr<const WeightGrid> BlockwiseWeightScheme::Grid(bool /*per_channel*/, bool /*transposed*/) const {
  return std::shared_ptr<const WeightGrid>(std::shared_ptr<const WeightGrid>(), this);
}

int64_t BlockwiseWeightScheme::BlockCount(int64_t n, int64_t k) const {
  return BlocksFollowRows(k) ? n * ((k + block_size_ - 1) / block_size_) : (n * k + block_size_ - 1) / block_size_;
}

int64_t BlockwiseWeightScheme::BlockOf(int64_t r, int64_t c, int64_t k) const {
  return BlocksFollowRows(k) ? r * ((k + block_size_ - 1) / block_size_) + c / block_size_
                             : (r * k + c) / block_size_;
}

std::vector<BlockParams> BlockwiseWeightScheme::FitBlocks(const float* w, int64_t n, int64_t k) const {
  std::vector<BlockParams> params;
  params.reserve(static_cast<size_t>(BlockCount(n, k)));
  if (BlocksFollowRows(k)) {
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t begin = 0; begin < k; begin += block_size_) {
        params.push_back(FitBlock(w + r * k + begin, std::min(block_size_, k - begin)));
      }
    }
  } else {
    for (int64_t begin = 0; begin < n * k; begin += block_size_) {
      params.push_back(FitBlock(w + begin, std::min(block_size_, n * k - begin)));
    }
  }
  return params;
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
