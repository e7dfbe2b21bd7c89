// mse: the range that minimises the expected squared quantization error of
// the observed values on the target grid, estimated from the histogram:
// - a value inside the range rounds with error step^2 / 12 (uniform rounding
//   error), except exact zeros, which every grid represents exactly;
// - a value outside is clipped to the bound: (x - bound)^2, taking it at its
//   bin's centre plus width^2 / 12 for its spread within the bin.
// step = (hi - lo) / (qmax - qmin); a symmetric range [-t, t] has hi - lo = 2t.
// Symmetric grid: candidate t are the bin edges of the |x| histogram.
// Asymmetric grid: the WindowFamily windows of the x histogram. Each
// candidate costs O(1) from prefix sums, so every one is evaluated.
#include <algorithm>
#include <memory>
#include <vector>

#include "calib/candidate_search.h"
#include "calib/histogram_calibrator.h"
#include "calib/methods.h"
#include "calib/range_builder.h"
#include "calib/window_family.h"

namespace pq::calib {
namespace {

// The expected squared error, in units of bin width squared, of quantizing
// the line's values to windows [a, b) with `steps` grid steps across.
class SquaredError {
 public:
  SquaredError(const LineHistogram& line, double zeros, double steps)
      : zeros_(zeros), steps_(steps) {
    const size_t n = line.counts.size();
    s0_.assign(n + 1, 0.0);
    s1_.assign(n + 1, 0.0);
    s2_.assign(n + 1, 0.0);
    for (size_t u = 0; u < n; ++u) {
      const double c = line.counts[u];
      const double center = static_cast<double>(u) + 0.5;
      s0_[u + 1] = s0_[u] + c;
      s1_[u + 1] = s1_[u] + c * center;
      s2_[u + 1] = s2_[u] + c * center * center;
    }
  }

  // `span` is hi - lo in bins (2t for a symmetric grid's |x| window [0, t)).
  double operator()(int64_t a, int64_t b, double span) const {
    const size_t ua = static_cast<size_t>(a), ub = static_cast<size_t>(b), n = s0_.size() - 1;
    const double fa = static_cast<double>(a), fb = static_cast<double>(b);
    const double step = span / steps_;
    const double inside = s0_[ub] - s0_[ua] - zeros_;
    const double l0 = s0_[ua], l1 = s1_[ua], l2 = s2_[ua];
    const double r0 = s0_[n] - s0_[ub], r1 = s1_[n] - s1_[ub], r2 = s2_[n] - s2_[ub];
    const double rounding = std::max(0.0, inside) * step * step / 12.0;
    const double left = fa * fa * l0 - 2.0 * fa * l1 + l2 + l0 / 12.0;
    const double right = r2 - 2.0 * fb * r1 + fb * fb * r0 + r0 / 12.0;
    return rounding + left + right;
  }

 private:
  double zeros_;
  double steps_;
  std::vector<double> s0_, s1_, s2_;  // prefix sums of count, count * centre, count * centre^2
};

HistogramChoice MseSearch(const LineHistogram& line, const ValueStats& stats,
                          const CalibrationOptions& options) {
  const QuantGrid& grid = options.grid;
  const SquaredError error(line, static_cast<double>(stats.zeros()),
                           static_cast<double>(grid.qmax - grid.qmin));
  HistogramChoice choice;
  if (grid.symmetric) {
    const int64_t end = std::max<int64_t>(1, line.EndOccupied());
    auto magnitude_error = [&](int64_t b) { return error(0, b, 2.0 * static_cast<double>(b)); };
    choice.SetMagnitude(line, ExhaustiveMinimum(1, end, magnitude_error));
  } else {
    const WindowFamily windows(line);
    auto window_error = [&](int64_t s) {
      return error(windows.begin(s), windows.end(s), static_cast<double>(windows.width(s)));
    };
    choice.SetWindow(line, windows, ExhaustiveMinimum(1, windows.steps(), window_error));
  }
  return choice;
}

}  // namespace

Result<std::unique_ptr<Calibrator>> NewMseCalibrator(const CalibrationOptions& options) {
  return NewHistogramCalibrator(options, "mse", MseSearch);
}

}  // namespace pq::calib
