#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "pq/quant_params.h"
#include "quant/error_sums.h"

namespace pq {
namespace quant {

void ErrorSums::Add(const float* original, const float* dequantized, int64_t count) {
  // Eight independent lanes (summed in a fixed order at the end): lane j
  // sums the elements i with i % 8 == j, each in its own double. The lanes
  // are one vector (GCC vector extension) so that they are computed side by
  // side; the arithmetic per lane is the scalar tail's.
  constexpr int kLanes = 8;
  using Lanes = double __attribute__((vector_size(kLanes * sizeof(double))));
  using FloatLanes = float __attribute__((vector_size(kLanes * sizeof(float))));
  Lanes signal = {}, noise = {}, dot = {}, norm_b = {}, max_abs = {};
  int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    FloatLanes fa, fb;
    std::memcpy(&fa, original + i, sizeof(fa));
    std::memcpy(&fb, dequantized + i, sizeof(fb));
    const Lanes a = __builtin_convertvector(fa, Lanes), b = __builtin_convertvector(fb, Lanes);
    const Lanes d = a - b;
    signal += a * a;
    noise += d * d;
    dot += a * b;
    norm_b += b * b;
    const Lanes ad = d < 0 ? -d : d;
    max_abs = max_abs < ad ? ad : max_abs;
  }
  for (int j = 0; i < count; ++i, ++j) {
    const double a = original[i], b = dequantized[i], d = a - b;
    signal[j] += a * a;
    noise[j] += d * d;
    dot[j] += a * b;
    norm_b[j] += b * b;
    max_abs[j] = std::max(max_abs[j], std::fabs(d));
  }
  for (int j = 0; j < kLanes; ++j) {
    signal_ += signal[j];
    noise_ += noise[j];
    dot_ += dot[j];
    norm_b_ += norm_b[j];
    max_abs_ = std::max(max_abs_, max_abs[j]);
  }
  count_ += count;
}

void ErrorSums::Merge(const ErrorSums& other) {
  signal_ += other.signal_;
  noise_ += other.noise_;
  dot_ += other.dot_;
  norm_b_ += other.norm_b_;
  max_abs_ = std::max(max_abs_, other.max_abs_);
  count_ += other.count_;
}

ErrorMetrics ErrorSums::Finish() const {
  ErrorMetrics m;
  m.mse = count_ > 0 ? noise_ / static_cast<double>(count_) : 0.0;
  m.max_abs = max_abs_;
  if (noise_ == 0) {
    m.sqnr_db = std::numeric_limits<double>::infinity();
  } else if (signal_ == 0) {
    m.sqnr_db = -std::numeric_limits<double>::infinity();
  } else {
    m.sqnr_db = 10.0 * std::log10(signal_ / noise_);
  }
  if (signal_ == 0 && norm_b_ == 0) {
    m.cosine = 1.0;
  } else if (signal_ == 0 || norm_b_ == 0) {
    m.cosine = 0.0;
  } else {
    m.cosine = dot_ / (std::sqrt(signal_) * std::sqrt(norm_b_));
  }
  return m;
}

ErrorMetrics MergeInOrder(const std::vector<ErrorSums>& chunks) {
  ErrorSums total;
  for (const ErrorSums& c : chunks) total.Merge(c);
  return total.Finish();
}

}  // namespace quant

ErrorMetrics ComputeErrorMetrics(const float* original, const float* dequantized, int64_t count) {
  quant::ErrorSums sums;
  sums.Add(original, dequantized, count);
  return sums.Finish();
}

}  // namespace pq
