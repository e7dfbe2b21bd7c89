#include "calib/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "calib/range_builder.h"

namespace pq::calib {

Histogram::Histogram(int bins)
    : bins_(bins),
      log2_bins_(static_cast<int>(std::lround(std::log2(bins)))),
      counts_(static_cast<size_t>(2 * bins * kLanes), 0) {}

double Histogram::bin_width() const { return std::ldexp(1.0, exponent_ - log2_bins_); }

std::vector<int64_t> Histogram::Side(int side) const {
  std::vector<int64_t> out(static_cast<size_t>(bins_), 0);
  const int64_t* counts = counts_.data() + static_cast<size_t>(side * bins_ * kLanes);
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t lane = 0; lane < kLanes; ++lane) out[i] += counts[i * kLanes + lane];
  }
  return out;
}

void Histogram::Grow(int exponent) {
  const int shift = std::min(exponent - exponent_, 31);
  std::vector<int64_t> merged(counts_.size(), 0);
  const size_t bins = static_cast<size_t>(bins_);
  for (size_t side = 0; side < 2; ++side) {
    for (size_t i = 0; i < bins; ++i) {
      for (size_t lane = 0; lane < kLanes; ++lane) {
        merged[((side * bins) + (i >> shift)) * kLanes + lane] +=
            counts_[((side * bins) + i) * kLanes + lane];
      }
    }
  }
  counts_.swap(merged);
  exponent_ = exponent;
}

void Histogram::Add(const float* data, int64_t count) {
  const ScanResult scan = ScanValues(data, count);
  stats_.Add(scan);
  if (scan.count == scan.nonfinite) return;
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
  const int32_t negative_offset = bins_ * kLanes;
  int64_t* counts = counts_.data();
  const auto slot = [&](float x, int lane) {
    return static_cast<int32_t>(std::fabs(x) * scale) * kLanes + lane +
           (x < 0.0f ? negative_offset : 0);
  };
  if (scan.nonfinite == 0) {
    // Slots are computed a chunk at a time (a loop the compiler vectorises),
    // then counted.
    constexpr int64_t kChunk = 256;
    static_assert(kChunk % kLanes == 0, "a chunk must hold whole rounds of lanes");
    int32_t slots[kChunk];
    for (int64_t first = 0; first < count; first += kChunk) {
      const int64_t n = std::min(kChunk, count - first);
      const float* x = data + first;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) slots[i] = slot(x[i], static_cast<int>(i % kLanes));
      for (int64_t i = 0; i < n; ++i) ++counts[slots[i]];
    }
  } else {
    constexpr float kMaxFinite = std::numeric_limits<float>::max();
    for (int64_t i = 0; i < count; ++i) {
      if (std::fabs(data[i]) <= kMaxFinite) ++counts[slot(data[i], 0)];
    }
  }
}

void Histogram::Merge(const Histogram& other) {
  stats_.Merge(other.stats_);
  if (other.exponent_ > exponent_) Grow(other.exponent_);
  const std::vector<int64_t> sides[2] = {other.positive(), other.negative()};
  const int shift = std::min(exponent_ - other.exponent_, 31);
  const size_t bins = static_cast<size_t>(bins_);
  for (size_t side = 0; side < 2; ++side) {
    for (size_t i = 0; i < bins; ++i) {
      counts_[((side * bins) + (i >> shift)) * kLanes] += sides[side][i];
    }
  }
}

TensorStatistics Histogram::ToStatistics() const {
  TensorStatistics out;
  out.bins = bins_;
  out.exponent = exponent_;
  out.positive = positive();
  out.negative = negative();
  out.count = stats_.count();
  out.nan = stats_.nan();
  out.inf = stats_.inf();
  out.zeros = stats_.zeros();
  out.min = stats_.min();
  out.max = stats_.max();
  return out;
}

Result<Histogram> Histogram::FromStatistics(const TensorStatistics& s) {
  const Status bins_ok = ValidateBins(s.bins);
  if (!bins_ok.ok()) return Status::InvalidInput(bins_ok.message());
  if (s.exponent < kMinExponent || s.exponent > kMaxExponent) {
    return Status::InvalidInput("exponent " + std::to_string(s.exponent) + " is outside [" +
                                std::to_string(kMinExponent) + ", " + std::to_string(kMaxExponent) + "]");
  }
  const size_t bins = static_cast<size_t>(s.bins);
  if (s.positive.size() != bins || s.negative.size() != bins) {
    return Status::InvalidInput("expected " + std::to_string(bins) + " bins per sign, got " +
                                std::to_string(s.positive.size()) + " and " + std::to_string(s.negative.size()));
  }
  if (s.count < 0 || s.nan < 0 || s.inf < 0 || s.zeros < 0) {
    return Status::InvalidInput("a negative count");
  }
  int64_t nonfinite = 0, finite = 0, binned = 0;
  if (__builtin_add_overflow(s.nan, s.inf, &nonfinite) || nonfinite > s.count) {
    return Status::InvalidInput("more NaN and infinite values than values");
  }
  finite = s.count - nonfinite;
  for (const std::vector<int64_t>* side : {&s.positive, &s.negative}) {
    for (int64_t c : *side) {
      if (c < 0 || __builtin_add_overflow(binned, c, &binned)) {
        return Status::InvalidInput("a negative or overflowing bin count");
      }
    }
  }
  if (binned != finite) {
    return Status::InvalidInput("the bins hold " + std::to_string(binned) + " values but " +
                                std::to_string(finite) + " are finite");
  }
  if (s.zeros > s.positive[0]) return Status::InvalidInput("more zeros than the first bin holds");
  const double limit = std::ldexp(1.0, s.exponent);
  if (finite > 0) {
    // Written so that NaN fails too.
    if (!(s.min <= s.max && std::fabs(s.min) < limit && std::fabs(s.max) < limit)) {
      return Status::InvalidInput("extremes [" + std::to_string(s.min) + ", " + std::to_string(s.max) +
                                  "] are out of order or outside the range 2^" + std::to_string(s.exponent));
    }
  }
  Histogram h(s.bins);
  h.exponent_ = s.exponent;
  for (size_t side = 0; side < 2; ++side) {
    const std::vector<int64_t>& counts = side == 0 ? s.positive : s.negative;
    for (size_t i = 0; i < bins; ++i) h.counts_[((side * bins) + i) * kLanes] = counts[i];
  }
  ScanResult totals;
  totals.count = s.count;
  totals.nonfinite = nonfinite;
  totals.nan = s.nan;
  totals.zeros = s.zeros;
  if (finite > 0) {
    totals.min = s.min;
    totals.max = s.max;
  }
  h.stats_.Add(totals);
  return h;
}

}  // namespace pq::calib
