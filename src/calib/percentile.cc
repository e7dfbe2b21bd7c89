// percentile: for a symmetric grid, the p-th percentile of |x|; for an
// asymmetric one, the (100 - p)-th and p-th percentiles of x. Read from the
// histogram, interpolating linearly within a bin.
#include <memory>

#include "calib/histogram_calibrator.h"
#include "calib/methods.h"
#include "calib/range_builder.h"

namespace pq::calib {
namespace {

class PercentileCalibrator : public HistogramCalibrator {
 public:
  using HistogramCalibrator::HistogramCalibrator;

 protected:
  const char* Name() const override { return "percentile"; }

  Choice Search(const LineHistogram& line, const ValueStats& stats) const override {
    const double total = line.Total();
    const double keep = options().percentile / 100.0;
    Choice choice;
    choice.parameters["percentile"] = options().percentile;
    choice.hi = Quantile(line, keep * total);
    choice.lo = options().grid.symmetric ? -choice.hi : Quantile(line, (1.0 - keep) * total);
    return choice;
  }
};

}  // namespace

Result<std::unique_ptr<Calibrator>> NewPercentileCalibrator(const CalibrationOptions& options) {
  PQ_RETURN_IF_ERROR(ValidateGrid(options.grid));
  PQ_RETURN_IF_ERROR(ValidateBins(options.bins));
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
  return std::unique_ptr<Calibrator>(new PercentileCalibrator(options));
}

}  // namespace pq::calib
