// WindowFamily: the candidate ranges the asymmetric searches (entropy, mse)
// try on a SignedLine: windows of bins around zero that shrink both sides in
// proportion to the observed extents, so candidate s of S keeps
// ceil(s / S) of each side. s == S is the whole observed range.
#ifndef PQ_SRC_CALIB_WINDOW_FAMILY_H_
#define PQ_SRC_CALIB_WINDOW_FAMILY_H_

#include <algorithm>
#include <cstdint>

#include "calib/line_histogram.h"

namespace pq::calib {

class WindowFamily {
 public:
  explicit WindowFamily(const LineHistogram& line)
      : zero_(line.zero_bin),
        negative_(zero_ - std::min(line.FirstOccupied(), zero_)),
        positive_(std::max(line.EndOccupied(), zero_) - zero_),
        steps_(std::max<int64_t>(1, std::max(negative_, positive_))) {}

  // Candidates are 1..steps().
  int64_t steps() const { return steps_; }
  // Window of candidate s: bins [begin(s), end(s)).
  int64_t begin(int64_t s) const { return zero_ - CeilDiv(negative_ * s, steps_); }
  int64_t end(int64_t s) const { return zero_ + CeilDiv(positive_ * s, steps_); }
  int64_t width(int64_t s) const { return end(s) - begin(s); }
  // The smallest candidate at least `bins` wide, or steps() if none is.
  int64_t FirstWithWidth(int64_t bins) const {
    int64_t s = 1;
    while (s < steps_ && width(s) < bins) ++s;
    return s;
  }

 private:
  static int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

  int64_t zero_;
  int64_t negative_;  // occupied bins below zero
  int64_t positive_;  // occupied bins from zero up
  int64_t steps_;
};

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_WINDOW_FAMILY_H_
