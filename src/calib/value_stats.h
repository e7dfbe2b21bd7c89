// ValueStats: what every calibrator counts about the values it sees (element
// count, NaN, ±Inf, exact zeros, finite extremes), gathered in one
// vectorised pass.
#ifndef PQ_SRC_CALIB_VALUE_STATS_H_
#define PQ_SRC_CALIB_VALUE_STATS_H_

#include <cstdint>
#include <limits>

namespace pq::calib {

// Figures of one block of values.
struct ScanResult {
  int64_t count = 0;
  int64_t nonfinite = 0;  // NaN and ±Inf
  int64_t nan = 0;        // of which NaN (only counted when nonfinite > 0)
  int64_t zeros = 0;      // values == 0 (either sign)
  // Extremes of the finite values; +inf / -inf when there are none.
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
};

// Scans `count` values once. REQUIRES: count >= 0.
ScanResult ScanValues(const float* data, int64_t count);

// Running totals over every block observed.
class ValueStats {
 public:
  void Add(const ScanResult& scan);
  // Adds the totals of `other` (exact: integer counts, min and max).
  void Merge(const ValueStats& other) { Add(other.AsScan()); }
  // The totals as one block's figures.
  ScanResult AsScan() const;

  int64_t count() const { return count_; }
  int64_t nan() const { return nan_; }
  int64_t inf() const { return nonfinite_ - nan_; }
  int64_t finite() const { return count_ - nonfinite_; }
  int64_t zeros() const { return zeros_; }
  // REQUIRES: finite() > 0.
  float min() const { return min_; }
  float max() const { return max_; }
  // max(|min|, |max|). REQUIRES: finite() > 0.
  float max_abs() const;

 private:
  int64_t count_ = 0;
  int64_t nonfinite_ = 0;
  int64_t nan_ = 0;
  int64_t zeros_ = 0;
  float min_ = std::numeric_limits<float>::infinity();
  float max_ = -std::numeric_limits<float>::infinity();
};

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_VALUE_STATS_H_
