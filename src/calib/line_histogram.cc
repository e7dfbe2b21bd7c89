#include "calib/line_histogram.h"

#include <algorithm>
#include <cmath>

namespace pq::calib {

double LineHistogram::Total() const {
  double total = 0;
  for (double c : counts) total += c;
  return total;
}

int64_t LineHistogram::FirstOccupied() const {
  for (size_t u = 0; u < counts.size(); ++u) {
    if (counts[u] > 0) return static_cast<int64_t>(u);
  }
  return zero_bin;
}

int64_t LineHistogram::EndOccupied() const {
  for (size_t u = counts.size(); u > 0; --u) {
    if (counts[u - 1] > 0) return static_cast<int64_t>(u);
  }
  return zero_bin;
}

LineHistogram MagnitudeLine(const Histogram& histogram) {
  LineHistogram line;
  line.origin = 0;
  line.width = histogram.bin_width();
  line.zero_bin = 0;
  const std::vector<int64_t> positive = histogram.positive();
  const std::vector<int64_t> negative = histogram.negative();
  line.counts.resize(positive.size());
  for (size_t i = 0; i < line.counts.size(); ++i) {
    line.counts[i] = static_cast<double>(positive[i] + negative[i]);
  }
  return line;
}

LineHistogram SignedLine(const Histogram& histogram) {
  const size_t bins = static_cast<size_t>(histogram.bins());
  LineHistogram line;
  line.width = histogram.bin_width();
  line.origin = -static_cast<double>(bins) * line.width;
  line.zero_bin = static_cast<int64_t>(bins);
  const std::vector<int64_t> positive = histogram.positive();
  const std::vector<int64_t> negative = histogram.negative();
  line.counts.resize(2 * bins);
  for (size_t i = 0; i < bins; ++i) {
    line.counts[bins - 1 - i] = static_cast<double>(negative[i]);
    line.counts[bins + i] = static_cast<double>(positive[i]);
  }
  return line;
}

double Quantile(const LineHistogram& line, double rank) {
  double below = 0;
  for (size_t u = 0; u < line.counts.size(); ++u) {
    const double c = line.counts[u];
    if (c > 0 && below + c >= rank) {
      const double share = std::clamp((rank - below) / c, 0.0, 1.0);
      return line.Edge(static_cast<int64_t>(u)) + share * line.width;
    }
    below += c;
  }
  return line.Edge(line.EndOccupied());
}

double CountOutside(const LineHistogram& line, double data_min, double data_max, double lo,
                    double hi) {
  double outside = 0;
  for (size_t u = 0; u < line.counts.size(); ++u) {
    const double c = line.counts[u];
    if (c == 0) continue;
    const double a = std::max(line.Edge(static_cast<int64_t>(u)), data_min);
    const double b = std::min(line.Edge(static_cast<int64_t>(u) + 1), data_max);
    if (b <= a) {  // the values of this bin are all at one point
      outside += (a < lo || a > hi) ? c : 0.0;
      continue;
    }
    const double inside = std::max(0.0, std::min(b, hi) - std::max(a, lo));
    outside += c * (1.0 - inside / (b - a));
  }
  return outside;
}

}  // namespace pq::calib
