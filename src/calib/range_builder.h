// Helpers every calibration method shares: option checks and turning a
// searched range into the CalibratedRange the report records.
#ifndef PQ_SRC_CALIB_RANGE_BUILDER_H_
#define PQ_SRC_CALIB_RANGE_BUILDER_H_

#include <string>

#include <nlohmann/json.hpp>

#include "calib/line_histogram.h"
#include "calib/value_stats.h"
#include "pq/calibration.h"
#include "pq/status.h"

namespace pq::calib {

// Errors (kInvalidArgument): qmin >= qmax, or a symmetric grid without
// qmin < 0 < qmax.
Status ValidateGrid(const QuantGrid& grid);

// Errors (kInvalidArgument): bins not a power of two in
// [kMinCalibrationBins, kMaxCalibrationBins].
Status ValidateBins(int bins);

// {"symmetric": …, "qmin": …, "qmax": …}
nlohmann::ordered_json GridJson(const QuantGrid& grid);

// Builds the range of `method` from the searched [lo, hi]: widened to include
// 0, clamped into the observed extremes, and made symmetric (±max(|lo|, |hi|))
// for a symmetric grid. clipped_fraction is left 0.
// Errors (kInvalidInput): no finite value was observed.
Result<CalibratedRange> FinishRange(const std::string& method, nlohmann::ordered_json parameters,
                                    const ValueStats& stats, const QuantGrid& grid, double lo,
                                    double hi);

// Share of the finite values outside `range`'s chosen range, estimated from
// `line` (a MagnitudeLine or SignedLine of the values `stats` describes).
double ClippedFraction(const LineHistogram& line, bool magnitude, const ValueStats& stats,
                       const CalibratedRange& range);

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_RANGE_BUILDER_H_
