// KlDivergence: the cost of TensorRT's entropy calibration for any window of
// a LineHistogram in O(levels), from prefix sums.
#ifndef PQ_SRC_CALIB_KL_DIVERGENCE_H_
#define PQ_SRC_CALIB_KL_DIVERGENCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "calib/line_histogram.h"

namespace pq::calib {

class KlDivergence {
 public:
  // REQUIRES: levels >= 2.
  KlDivergence(const LineHistogram& line, int64_t levels);

  // KL(P || Q) for the window of bins [a, b):
  // - P (the reference) is the window's counts with every count left of `a`
  //   added to bin a and every count from `b` on added to bin b - 1, i.e. the
  //   values as clipping to the window leaves them;
  // - Q (the candidate) is the window's own counts merged into `levels`
  //   groups of consecutive bins (bin j of the window is in group
  //   floor(j * levels / (b - a))), each group's total spread evenly over its
  //   bins where P is non-zero, i.e. what the quantized values can express.
  // Both are normalised. Returns +infinity where P has mass Q lacks.
  // REQUIRES: 0 <= a, b <= bins, b - a >= levels, a non-empty line.
  double operator()(int64_t a, int64_t b) const;

 private:
  double Count(int64_t u) const { return counts_[static_cast<size_t>(u)]; }

  std::vector<double> counts_;
  int64_t levels_;
  double total_ = 0;
  // Sums over bins [0, u): counts, non-empty bins, count * log(count).
  std::vector<double> prefix_count_;
  std::vector<double> prefix_nonzero_;
  std::vector<double> prefix_xlogx_;
};

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_KL_DIVERGENCE_H_
