// HistogramCalibrator: the shared part of the histogram methods. It bins the
// values (see histogram.h) and, on Compute(), hands the method a
// MagnitudeLine (symmetric grid) or SignedLine (asymmetric grid) to search.
#ifndef PQ_SRC_CALIB_HISTOGRAM_CALIBRATOR_H_
#define PQ_SRC_CALIB_HISTOGRAM_CALIBRATOR_H_

#include <string>

#include <nlohmann/json.hpp>

#include "calib/histogram.h"
#include "calib/line_histogram.h"
#include "pq/calibration.h"

namespace pq::calib {

class HistogramCalibrator : public Calibrator {
 public:
  // REQUIRES: options validated (ValidateBins, ValidateGrid).
  explicit HistogramCalibrator(const CalibrationOptions& options)
      : options_(options), histogram_(options.bins) {}

  void Observe(const float* data, int64_t count) override { histogram_.Add(data, count); }
  Result<CalibratedRange> Compute() const override;

  const Histogram& histogram() const { return histogram_; }

 protected:
  // A searched range (before FinishRange) and the method's own parameters.
  struct Choice {
    double lo = 0;
    double hi = 0;
    nlohmann::ordered_json parameters = nlohmann::ordered_json::object();
  };

  virtual const char* Name() const = 0;
  // Picks the range from `line`, which holds at least one count. For a
  // symmetric grid `line` is a MagnitudeLine and only hi matters.
  virtual Choice Search(const LineHistogram& line, const ValueStats& stats) const = 0;

  const CalibrationOptions& options() const { return options_; }

 private:
  CalibrationOptions options_;
  Histogram histogram_;
};

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_HISTOGRAM_CALIBRATOR_H_
