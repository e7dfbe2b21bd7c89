// Histogram: a fixed-size histogram of float values whose range grows by
// powers of two, so that memory is constant in the number of values and the
// result does not depend on how the values were split into blocks.
//
// Layout: the range is (-2^e, 2^e) for an exponent e chosen as the smallest
// one (>= kMinExponent) with every finite |x| < 2^e. Each sign has `bins`
// bins of width w = 2^e / bins: positive bin i counts x >= 0 with
// floor(x / w) == i, negative bin i counts x < 0 with floor(-x / w) == i.
// Because `bins` is a power of two, x / w is an exact scaling, and when e grows
// by d the new bin of every value is its old bin >> d: growing merges whole
// bins. Hence observing data in any number of blocks gives exactly the same
// histogram as one pass over all of it.
#ifndef PQ_SRC_CALIB_HISTOGRAM_H_
#define PQ_SRC_CALIB_HISTOGRAM_H_

#include <cstdint>
#include <vector>

#include "calib/value_stats.h"
#include "pq/calibration_stats.h"
#include "pq/status.h"

namespace pq::calib {

class Histogram {
 public:
  // The smallest and largest range exponents. 2^kMinExponent is far below
  // any activation scale pq quantizes to; every finite float is < 2^128.
  static constexpr int kMinExponent = -100;
  static constexpr int kMaxExponent = 128;

  // REQUIRES: bins is a power of two in [kMinCalibrationBins,
  // kMaxCalibrationBins] (checked by the calibrator factories).
  explicit Histogram(int bins);

  // Adds `count` values; NaN and ±Inf are counted in stats() only.
  void Add(const float* data, int64_t count);

  // Adds everything `other` observed: both grow to the larger exponent and
  // the counts add. Merging is exact, commutative and associative: histograms
  // of disjoint parts of a dataset merge into the histogram of all of it.
  // REQUIRES: other.bins() == bins().
  void Merge(const Histogram& other);

  // The raw statistics, as a .pqcal file stores them.
  TensorStatistics ToStatistics() const;
  // The histogram `stats` describes. Errors (kInvalidInput, naming what is
  // inconsistent): bins not a valid power of two, an exponent out of range,
  // count vectors of another length, negative counts, bin totals that differ
  // from the finite count, extremes outside the range or out of order.
  static Result<Histogram> FromStatistics(const TensorStatistics& stats);

  int bins() const { return bins_; }
  int exponent() const { return exponent_; }
  // Width of one bin: 2^exponent / bins.
  double bin_width() const;
  // Counts per bin, as in the layout above.
  std::vector<int64_t> positive() const { return Side(0); }
  std::vector<int64_t> negative() const { return Side(1); }
  const ValueStats& stats() const { return stats_; }

 private:
  // Counts are kept in kLanes interleaved copies, value i going to copy
  // i % kLanes, so that runs of equal bins do not wait on each other's
  // increments; the accessors sum the copies.
  static constexpr int kLanes = 4;

  void Grow(int exponent);
  std::vector<int64_t> Side(int side) const;

  int bins_;
  int log2_bins_;
  int exponent_ = kMinExponent;
  // counts_[((side * bins_) + bin) * kLanes + lane]; side 0 positive, 1 negative.
  std::vector<int64_t> counts_;
  ValueStats stats_;
};

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_HISTOGRAM_H_
