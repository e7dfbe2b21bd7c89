#include "quant/linear_grid.h"

#include <algorithm>

#include "quant/error_sums.h"
#include "quant/finite_check.h"
#include "quant/linear_quant.h"
#include "quant/transpose.h"

namespace pq::quant {
namespace {

class LinearGrid : public WeightGrid {
 public:
  LinearGrid(const LinearGridSpec& spec, bool per_channel, bool transposed)
      : spec_(spec), per_channel_(per_channel), transposed_(transposed) {}

  const float* Rows(const WeightView& weight, int64_t* n, int64_t* k, std::vector<float>* storage) const override {
    if (weight.shape.size() != 2) {
      *n = *k = 0;
      return weight.data;
    }
    if (!transposed_) return WeightGrid::Rows(weight, n, k, storage);
    *k = weight.shape[0];
    *n = weight.shape[1];
    storage->resize(static_cast<size_t>(*n * *k));
    TransposeFloats(weight.data, *k, *n, storage->data());  // stored [K, N] -> [N, K]
    return storage->data();
  }
  int64_t BlockCount(int64_t n, int64_t /*k*/) const override { return per_channel_ ? n : 1; }
  int64_t BlockOf(int64_t r, int64_t /*c*/, int64_t /*k*/) const override { return per_channel_ ? r : 0; }
  int64_t RowBlockLength(int64_t k) const override { return per_channel_ ? k : 0; }

  BlockParams FitBlock(const float* w, int64_t count) const override {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < count; ++i) {
      lo = std::min(lo, w[i]);
      hi = std::max(hi, w[i]);
    }
    BlockParams p;
    ChooseParams(lo, hi, spec_.qmin, spec_.qmax, spec_.symmetric, &p.scale, &p.zero_point);
    return p;
  }
  std::vector<BlockParams> FitBlocks(const float* w, int64_t n, int64_t k) const override {
    if (!per_channel_) return {FitBlock(w, n * k)};
    std::vector<BlockParams> params;
    params.reserve(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) params.push_back(FitBlock(w + r * k, k));
    return params;
  }
  float RoundToGrid(float w, const BlockParams& p) const override {
    const int64_t q = QuantizeValue(w, p.scale, p.zero_point, spec_.qmin, spec_.qmax);
    return static_cast<float>(q - p.zero_point) * p.scale;  // DequantizeLinear
  }

  Result<QuantizedWeight> QuantizeWithParams(const WeightView& weight, const float* values,
                                             const std::vector<BlockParams>& params,
                                             std::vector<float>* dequantized) const override {
    if (weight.shape.size() != 2) {
      return Status::Internal("linear grid: weight '" + weight.name + "' is not 2-D");
    }
    const int64_t n = transposed_ ? weight.shape[1] : weight.shape[0];
    const int64_t k = transposed_ ? weight.shape[0] : weight.shape[1];
    if (static_cast<int64_t>(params.size()) != BlockCount(n, k)) {
      return Status::Internal("linear grid: weight '" + weight.name + "' given " + std::to_string(params.size()) +
                              " parameters for " + std::to_string(BlockCount(n, k)) + " blocks");
    }
    PQ_RETURN_IF_ERROR(CheckFinite(weight.name, weight.data, n * k));
    PQ_RETURN_IF_ERROR(CheckFinite(weight.name, values, n * k));
    QuantizedWeight out;
    out.params.dtype = spec_.dtype;
    out.params.axis = per_channel_ ? (transposed_ ? 1 : 0) : -1;
    for (const BlockParams& p : params) {
      out.params.scale.push_back(p.scale);
      out.params.zero_point.push_back(p.zero_point);
    }
    // Codes and what DequantizeLinear reads back, in the stored layout.
    out.data.resize(static_cast<size_t>(n * k));
    std::vector<float> stored_dq(static_cast<size_t>(n * k));
    if (dequantized != nullptr) dequantized->resize(static_cast<size_t>(n * k));
    for (int64_t r = 0; r < n; ++r) {
      const BlockParams& p = params[static_cast<size_t>(BlockOf(r, 0, k))];
      for (int64_t c = 0; c < k; ++c) {
        const int64_t q = QuantizeValue(values[r * k + c], p.scale, p.zero_point, spec_.qmin, spec_.qmax);
        const float dq = static_cast<float>(q - p.zero_point) * p.scale;
        const size_t at = static_cast<size_t>(transposed_ ? c * n + r : r * k + c);
        out.data[at] = static_cast<char>(static_cast<uint8_t>(q & 0xff));
        stored_dq[at] = dq;
        if (dequantized != nullptr) (*dequantized)[static_cast<size_t>(r * k + c)] = dq;
      }
    }
    ErrorSums sums;
    sums.Add(weight.data, stored_dq.data(), n * k);
    out.error = sums.Finish();
    return out;
  }

 private:
  LinearGridSpec spec_;
  bool per_channel_, transposed_;
};

}  // namespace

std::shared_ptr<const WeightGrid> MakeLinearGrid(const LinearGridSpec& spec, bool per_channel, bool transposed) {
  return std::make_shared<LinearGrid>(spec, per_channel, transposed);
}

}  // namespace pq::quant
