#include "calib/range_builder.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace pq::calib {

Status ValidateGrid(const QuantGrid& grid) {
  if (grid.qmin >= grid.qmax) {
    return Status::InvalidArgument("calibration grid [" + std::to_string(grid.qmin) + ", " +
                                   std::to_string(grid.qmax) + "] is empty (need qmin < qmax)");
  }
  if (grid.symmetric && !(grid.qmin < 0 && grid.qmax > 0)) {
    return Status::InvalidArgument("symmetric calibration grid [" + std::to_string(grid.qmin) +
                                   ", " + std::to_string(grid.qmax) +
                                   "] must contain negative and positive values");
  }
  return Status::OK();
}

Status ValidateBins(int bins) {
  const bool power_of_two = bins > 0 && (bins & (bins - 1)) == 0;
  if (!power_of_two || bins < kMinCalibrationBins || bins > kMaxCalibrationBins) {
    return Status::InvalidArgument("calibration bins must be a power of two in [" +
                                   std::to_string(kMinCalibrationBins) + ", " +
                                   std::to_string(kMaxCalibrationBins) + "], got " +
                                   std::to_string(bins));
  }
  return Status::OK();
}

nlohmann::ordered_json GridJson(const QuantGrid& grid) {
  nlohmann::ordered_json j;
  j["symmetric"] = grid.symmetric;
  j["qmin"] = grid.qmin;
  j["qmax"] = grid.qmax;
  return j;
}

Result<CalibratedRange> FinishRange(const std::string& method, nlohmann::ordered_json parameters,
                                    const ValueStats& stats, const QuantGrid& grid, double lo,
                                    double hi) {
  if (stats.finite() == 0) {
    return Status::InvalidInput("no finite value among the " + std::to_string(stats.count()) +
                                " observed (" + std::to_string(stats.nan()) + " NaN, " +
                                std::to_string(stats.inf()) + " infinite)");
  }
  CalibratedRange range;
  range.method = method;
  range.parameters = std::move(parameters);
  range.values_seen = stats.count();
  range.nan_count = stats.nan();
  range.inf_count = stats.inf();
  range.observed_min = stats.min();
  range.observed_max = stats.max();
  // Clamping in double before the float conversion keeps the chosen bounds
  // within the observed ones: rounding to float is monotone and the observed
  // bounds are floats.
  lo = std::min(std::max(lo, static_cast<double>(stats.min())), 0.0);
  hi = std::max(std::min(hi, static_cast<double>(stats.max())), 0.0);
  if (grid.symmetric) {
    const double t = std::min(std::max(-lo, hi), static_cast<double>(stats.max_abs()));
    range.chosen_max = static_cast<float>(t);
    range.chosen_min = -range.chosen_max;
  } else {
    range.chosen_min = static_cast<float>(lo);
    range.chosen_max = static_cast<float>(hi);
  }
  return range;
}

double ClippedFraction(const LineHistogram& line, bool magnitude, const ValueStats& stats,
                       const CalibratedRange& range) {
  if (stats.finite() == 0) return 0;
  const double data_min = magnitude ? 0.0 : stats.min();
  const double data_max = magnitude ? stats.max_abs() : stats.max();
  const double lo = magnitude ? 0.0 : range.chosen_min;
  const double outside = CountOutside(line, data_min, data_max, lo, range.chosen_max);
  return std::clamp(outside / static_cast<double>(stats.finite()), 0.0, 1.0);
}

}  // namespace pq::calib

namespace pq {

nlohmann::ordered_json CalibratedRangeToJson(const CalibratedRange& r) {
  return {{"method", r.method},
          {"parameters", r.parameters},
          {"values_seen", r.values_seen},
          {"nan_count", r.nan_count},
          {"inf_count", r.inf_count},
          {"observed_min", r.observed_min},
          {"observed_max", r.observed_max},
          {"chosen_min", r.chosen_min},
          {"chosen_max", r.chosen_max},
          {"clipped_fraction", r.clipped_fraction}};
}

}  // namespace pq
