#include "calib/value_stats.h"

#include <algorithm>
#include <cmath>

namespace pq::calib {

ScanResult ScanValues(const float* data, int64_t count) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  constexpr float kMaxFinite = std::numeric_limits<float>::max();
  ScanResult r;
  r.count = count;
  float lo = kInf, hi = -kInf;
  int64_t nonfinite = 0, zeros = 0;
  // |x| <= FLT_MAX is false for NaN and ±Inf, so one compare selects finite
  // values and the loop stays branch-free.
#pragma omp simd reduction(min : lo) reduction(max : hi) reduction(+ : nonfinite, zeros)
  for (int64_t i = 0; i < count; ++i) {
    const float x = data[i];
    const bool finite = std::fabs(x) <= kMaxFinite;
    lo = std::min(lo, finite ? x : kInf);
    hi = std::max(hi, finite ? x : -kInf);
    nonfinite += finite ? 0 : 1;
    zeros += x == 0.0f ? 1 : 0;
  }
  r.min = lo;
  r.max = hi;
  r.nonfinite = nonfinite;
  r.zeros = zeros;
  if (nonfinite > 0) {
    for (int64_t i = 0; i < count; ++i) r.nan += std::isnan(data[i]) ? 1 : 0;
  }
  return r;
}

void ValueStats::Add(const ScanResult& scan) {
  count_ += scan.count;
  nonfinite_ += scan.nonfinite;
  nan_ += scan.nan;
  zeros_ += scan.zeros;
  min_ = std::min(min_, scan.min);
  max_ = std::max(max_, scan.max);
}

ScanResult ValueStats::AsScan() const {
  ScanResult r;
  r.count = count_;
  r.nonfinite = nonfinite_;
  r.nan = nan_;
  r.zeros = zeros_;
  r.min = min_;
  r.max = max_;
  return r;
}

float ValueStats::max_abs() const { return std::max(std::fabs(min_), std::fabs(max_)); }

}  // namespace pq::calib
