// percentile: for a symmetric grid, the p-th percentile of |x|; for an
// asymmetric one, the (100 - p)-th and p-th percentiles of x. Read from the
// histogram, interpolating linearly within a bin.
#include <memory>

#include "calib/histogram_calibrator.h"
#include "calib/methods.h"
#include "calib/range_builder.h"

namespace pq::calib {
namespace {

HistogramChoice PercentileSearch(const LineHistogram& line, const ValueStats& stats,
                                 const CalibrationOptions& options) {
  const double total = line.Total();
  const double keep = options.percentile / 100.0;
  HistogramChoice choice;
  choice.parameters["percentile"] = options.percentile;
  choice.hi = Quantile(line, keep * total);
  choice.lo = options.grid.symmetric ? -choice.hi : Quantile(line, (1.0 - keep) * total);
  return choice;
}

}  // namespace

Result<std::unique_ptr<Calibrator>> NewPercentileCalibrator(const CalibrationOptions& options) {
  Result<std::unique_ptr<Calibrator>> calibrator =
      NewHistogramCalibrator(options, "percentile", PercentileSearch);
  if (!calibrator.ok()) return calibrator;
  // Written so that NaN fails too.
  if (!(options.percentile > 0.0 && options.percentile <= 100.0)) {
    return Status::InvalidArgument("percentile must be in (0, 100], got " +
                                   std::to_string(options.percentile));
  }
  if (!options.grid.symmetric && options.percentile < 50.0) {
    return Status::InvalidArgument(
        "percentile must be at least 50 for an asymmetric grid (it keeps both tails), got " +
        std::to_string(options.percentile));
  }
  return calibrator;
}

}  // namespace pq::calib
