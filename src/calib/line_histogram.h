// LineHistogram: a Histogram seen as counts over consecutive equal-width bins
// of one axis, the form the range searches work on.
#ifndef PQ_SRC_CALIB_LINE_HISTOGRAM_H_
#define PQ_SRC_CALIB_LINE_HISTOGRAM_H_

#include <cstdint>
#include <vector>

#include "calib/histogram.h"

namespace pq::calib {

// Bin u covers [origin + u * width, origin + (u + 1) * width).
struct LineHistogram {
  double origin = 0;
  double width = 0;
  std::vector<double> counts;
  // The bin that starts at 0: origin + zero_bin * width == 0.
  int64_t zero_bin = 0;

  double Edge(int64_t u) const { return origin + static_cast<double>(u) * width; }
  double Center(int64_t u) const { return Edge(u) + 0.5 * width; }
  double Total() const;
  // Index of the first / one past the last non-empty bin; both zero_bin when
  // every bin is empty.
  int64_t FirstOccupied() const;
  int64_t EndOccupied() const;
};

// |x|: origin 0, bins() bins, bin i = positive[i] + negative[i].
LineHistogram MagnitudeLine(const Histogram& histogram);

// x: origin -2^e, 2 * bins() bins: the negative bins from the most negative
// up, then the positive ones; zero_bin == bins().
LineHistogram SignedLine(const Histogram& histogram);

// The value below which `rank` of the counts lie, interpolating linearly
// within a bin. REQUIRES: 0 <= rank <= Total().
double Quantile(const LineHistogram& line, double rank);

// The counts outside [lo, hi], with each bin's count spread evenly over the
// part of the bin within [data_min, data_max] (the observed extremes).
double CountOutside(const LineHistogram& line, double data_min, double data_max, double lo,
                    double hi);

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_LINE_HISTOGRAM_H_
