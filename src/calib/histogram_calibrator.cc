#include "calib/histogram_calibrator.h"

#include <string>
#include <utility>

#include "calib/range_builder.h"

namespace pq::calib {

Result<CalibratedRange> HistogramCalibrator::Compute() const {
  const ValueStats& stats = histogram_.stats();
  const bool magnitude = options_.grid.symmetric;
  HistogramChoice choice;
  LineHistogram line;
  if (stats.finite() > 0) {
    line = magnitude ? MagnitudeLine(histogram_) : SignedLine(histogram_);
    choice = search_(line, stats, options_);
  }
  nlohmann::ordered_json parameters;
  parameters["bins"] = options_.bins;
  parameters["histogram"] = magnitude ? "|x|" : "x";
  for (auto& [key, value] : choice.parameters.items()) parameters[key] = value;
  parameters["grid"] = GridJson(options_.grid);
  Result<CalibratedRange> range =
      FinishRange(name_, std::move(parameters), stats, options_.grid, choice.lo, choice.hi);
  if (!range.ok()) return range;
  range->clipped_fraction = ClippedFraction(line, magnitude, stats, range.value());
  return range;
}

Status HistogramCalibrator::AddStatistics(const TensorStatistics& stats) {
  if (stats.bins != options_.bins) {
    return Status::InvalidInput("statistics have " + std::to_string(stats.bins) + " bins per sign; " + name_ +
                                " calibration here uses " + std::to_string(options_.bins));
  }
  Result<Histogram> histogram = Histogram::FromStatistics(stats);
  if (!histogram.ok()) return histogram.status();
  histogram_.Merge(histogram.value());
  return Status::OK();
}

Result<std::unique_ptr<Calibrator>> NewHistogramCalibrator(const CalibrationOptions& options,
                                                           const char* name,
                                                           HistogramSearch search) {
  PQ_RETURN_IF_ERROR(ValidateGrid(options.grid));
  PQ_RETURN_IF_ERROR(ValidateBins(options.bins));
  return std::unique_ptr<Calibrator>(new HistogramCalibrator(options, name, search));
}

}  // namespace pq::calib
