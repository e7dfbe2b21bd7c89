// HistogramCalibrator: the shared part of the histogram methods. It bins the
// values (see histogram.h) and, on Compute(), hands the method's search
// function a MagnitudeLine (symmetric grid) or SignedLine (asymmetric grid).
// A histogram method is a HistogramSearch function plus its factory.
#ifndef PQ_SRC_CALIB_HISTOGRAM_CALIBRATOR_H_
#define PQ_SRC_CALIB_HISTOGRAM_CALIBRATOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "calib/histogram.h"
#include "calib/line_histogram.h"
#include "calib/window_family.h"
#include "pq/calibration.h"

namespace pq::calib {

// A searched range [lo, hi] (before FinishRange) and the method's own
// parameters.
struct HistogramChoice {
  double lo = 0, hi = 0;
  nlohmann::ordered_json parameters = nlohmann::ordered_json::object();

  // Sets the symmetric range [-t, t] with t = line.Edge(end).
  void SetMagnitude(const LineHistogram& line, int64_t end) {
    hi = line.Edge(end);
    lo = -hi;
  }
  // Sets the range of candidate `s` of `windows`.
  void SetWindow(const LineHistogram& line, const WindowFamily& windows, int64_t s) {
    lo = line.Edge(windows.begin(s));
    hi = line.Edge(windows.end(s));
  }
};

// A method's search: picks the range from `line`, which holds at least one
// count. For a symmetric grid `line` is a MagnitudeLine and only hi matters.
using HistogramSearch = HistogramChoice (*)(const LineHistogram& line, const ValueStats& stats,
                                            const CalibrationOptions& options);

class HistogramCalibrator final : public Calibrator {
 public:
  // `name` (static storage) names the method in the range it computes.
  // REQUIRES: options validated (ValidateBins, ValidateGrid).
  HistogramCalibrator(const CalibrationOptions& options, const char* name, HistogramSearch search)
      : options_(options), name_(name), search_(search), histogram_(options.bins) {}

  void Observe(const float* data, int64_t count) override { histogram_.Add(data, count); }
  Status AddStatistics(const TensorStatistics& stats) override;
  Result<CalibratedRange> Compute() const override;

  const Histogram& histogram() const { return histogram_; }

 private:
  CalibrationOptions options_;
  const char* name_;
  HistogramSearch search_;
  Histogram histogram_;
};

// Returns a HistogramCalibrator for method `name` with `search`.
// Errors (kInvalidArgument): the grid or bin count of `options`
// (ValidateGrid, ValidateBins).
Result<std::unique_ptr<Calibrator>> NewHistogramCalibrator(const CalibrationOptions& options,
                                                           const char* name,
                                                           HistogramSearch search);

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_HISTOGRAM_CALIBRATOR_H_
