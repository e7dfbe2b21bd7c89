#include "calib/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pq::calib {

Histogram::Histogram(int bins)
    : bins_(bins),
      log2_bins_(static_cast<int>(std::lround(std::log2(bins)))),
      positive_(static_cast<size_t>(bins), 0),
      negative_(static_cast<size_t>(bins), 0) {}

double Histogram::bin_width() const { return std::ldexp(1.0, exponent_ - log2_bins_); }

void Histogram::Grow(int exponent) {
  const int shift = std::min(exponent - exponent_, 31);
  for (std::vector<int64_t>* side : {&positive_, &negative_}) {
    std::vector<int64_t> merged(side->size(), 0);
    for (size_t i = 0; i < side->size(); ++i) merged[i >> shift] += (*side)[i];
    side->swap(merged);
  }
  exponent_ = exponent;
}

void Histogram::Add(const float* data, int64_t count) {
  const ScanResult scan = ScanValues(data, count);
  stats_.Add(scan);
  if (scan.count == scan.nonfinite) return;
  // frexp gives |x| = m * 2^e with m in [0.5, 1), so |x| < 2^e.
  // Zero needs no range (frexp(0) would give 0), so all-zero blocks keep the
  // exponent, as they must for block splits not to matter.
  const float max_abs = std::max(std::fabs(scan.min), std::fabs(scan.max));
  int needed = kMinExponent;
  if (max_abs > 0.0f) std::frexp(max_abs, &needed);
  needed = std::clamp(needed, kMinExponent, kMaxExponent);
  if (needed > exponent_) Grow(needed);

  // x * scale == x / w exactly (scale is a power of two), and < bins_ for
  // every finite |x| < 2^exponent_.
  const float scale = std::ldexp(1.0f, log2_bins_ - exponent_);
  int64_t* pos = positive_.data();
  int64_t* neg = negative_.data();
  if (scan.nonfinite == 0) {
    for (int64_t i = 0; i < count; ++i) {
      const float x = data[i];
      const auto bin = static_cast<int32_t>(std::fabs(x) * scale);
      ++(x < 0.0f ? neg : pos)[bin];
    }
  } else {
    constexpr float kMaxFinite = std::numeric_limits<float>::max();
    for (int64_t i = 0; i < count; ++i) {
      const float x = data[i];
      if (!(std::fabs(x) <= kMaxFinite)) continue;
      const auto bin = static_cast<int32_t>(std::fabs(x) * scale);
      ++(x < 0.0f ? neg : pos)[bin];
    }
  }
}

}  // namespace pq::calib
