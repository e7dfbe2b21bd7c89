#include "gguf/weight_encoder.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "gguf/gguf_schemes.h"
#include "util/sha256.h"

namespace pq::gguf {
namespace {

// Error sums of one row, added in row order afterwards (no dependence on
// the thread count).
struct RowError {
  double squared = 0, weighted = 0, weight_sum = 0, signal = 0, max_abs = 0;
};

std::string FallbackReason(GgmlType wanted, GgmlType chosen, int64_t cols) {
  const GgmlTypeTraits* w = TraitsOf(wanted);
  return std::string("rows of ") + std::to_string(cols) + " values are not a multiple of " + w->name +
         "'s block of " + std::to_string(w->block_size) + "; written as " + TraitsOf(chosen)->name +
         " (llama-quantize's fallback)";
}

// Summarizes the f16 scale that starts every block of a quantized type.
void SummarizeScales(GgmlType type, const std::vector<uint8_t>& bytes, EncodedTensorRecord* record) {
  const GgmlTypeTraits* t = TraitsOf(type);
  if (type == GgmlType::kF32 || type == GgmlType::kF16) return;
  const int64_t blocks = static_cast<int64_t>(bytes.size()) / t->block_bytes;
  std::vector<float> scales(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b) {
    DequantizeRow(GgmlType::kF16, bytes.data() + b * t->block_bytes, 1, &scales[static_cast<size_t>(b)]);
  }
  record->scale_count = blocks;
  if (blocks > 0) {
    auto [lo, hi] = std::minmax_element(scales.begin(), scales.end());
    record->scale_min = *lo;
    record->scale_max = *hi;
  }
  record->scales_sha256 = Sha256Bytes(scales.data(), scales.size() * sizeof(float));
}

}  // namespace

Result<TensorToWrite> EncodeWeight(const LlamaWeight& weight, GgmlType wanted, const std::vector<float>* importance,
                                   int threads, EncodedTensorRecord* record) {
  const bool matrix = weight.shape.size() == 2;
  const int64_t cols = weight.shape.back();
  const int64_t rows = matrix ? weight.shape[0] : 1;
  const GgmlType type = matrix ? TypeForRow(wanted, cols) : GgmlType::kF32;
  const GgmlTypeTraits* traits = TraitsOf(type);
  const int64_t row_bytes = RowBytes(type, cols);

  TensorToWrite out;
  out.name = weight.name;
  out.type = type;
  out.dims.assign(weight.shape.rbegin(), weight.shape.rend());  // ggml's ne: innermost first
  out.bytes.resize(static_cast<size_t>(rows * row_bytes));

  const float* w = importance != nullptr && matrix ? importance->data() : nullptr;
  std::vector<RowError> errors(static_cast<size_t>(rows));
  std::vector<Status> failures(static_cast<size_t>(rows));
  const int nthreads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(nthreads)
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = weight.values.data() + r * cols;
    uint8_t* dst = out.bytes.data() + r * row_bytes;
    Status s = QuantizeRow(type, x, cols, w, dst);
    if (!s.ok()) {
      failures[static_cast<size_t>(r)] = s;
      continue;
    }
    std::vector<float> decoded(static_cast<size_t>(cols));
    DequantizeRow(type, dst, cols, decoded.data());
    RowError& e = errors[static_cast<size_t>(r)];
    for (int64_t c = 0; c < cols; ++c) {
      const double d = static_cast<double>(decoded[static_cast<size_t>(c)]) - x[c];
      const double wc = w != nullptr ? w[c] : 1.0;
      e.squared += d * d;
      e.weighted += wc * d * d;
      e.weight_sum += wc;
      e.signal += static_cast<double>(x[c]) * x[c];
      e.max_abs = std::max(e.max_abs, std::fabs(d));
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (!failures[static_cast<size_t>(r)].ok()) {
      return Status::InvalidInput("weight '" + weight.name + "' row " + std::to_string(r) + ": " +
                                  failures[static_cast<size_t>(r)].message());
    }
  }
  RowError total;
  for (const RowError& e : errors) {
    total.squared += e.squared;
    total.weighted += e.weighted;
    total.weight_sum += e.weight_sum;
    total.signal += e.signal;
    total.max_abs = std::max(total.max_abs, e.max_abs);
  }
  const double n = static_cast<double>(rows * cols);

  *record = EncodedTensorRecord{};
  record->name = weight.name;
  record->shape = weight.shape;
  record->type = traits->name;
  record->wanted_type = matrix ? TraitsOf(wanted)->name : "f32";
  if (type != wanted && matrix) record->fallback_reason = FallbackReason(wanted, type, cols);
  record->blocks = rows * cols / traits->block_size;
  record->bytes = static_cast<int64_t>(out.bytes.size());
  record->sha256 = Sha256Bytes(out.bytes.data(), out.bytes.size());
  record->sources = weight.sources;
  record->activation = weight.activation;
  record->importance = w != nullptr;
  record->rope_permuted = weight.rope_permuted;
  record->rmse = std::sqrt(total.squared / n);
  record->max_abs_error = total.max_abs;
  record->sqnr_db = total.squared == 0 ? std::numeric_limits<double>::infinity()
                                       : 10.0 * std::log10(total.signal / total.squared);
  record->weighted_rmse = w != nullptr && total.weight_sum > 0
                              ? std::sqrt(total.weighted / total.weight_sum)
                              : record->rmse;
  SummarizeScales(type, out.bytes, record);
  return out;
}

}  // namespace pq::gguf
