// The calibration method table: one row per method. Adding a method is one
// file (a factory declared in methods.h) and one row here.
#include <memory>
#include <string>
#include <vector>

#include "calib/methods.h"
#include "pq/calibration.h"

namespace pq {

const std::vector<CalibrationMethod>& CalibrationMethods() {
  static const std::vector<CalibrationMethod> kMethods = {
      {"minmax", "observed minimum and maximum (nothing clipped)", calib::NewMinMaxCalibrator},
      {"percentile", "a percentile of |x| (symmetric) or both tails of x, from a histogram",
       calib::NewPercentileCalibrator},
      {"entropy", "least KL divergence after quantization (TensorRT), from a histogram",
       calib::NewEntropyCalibrator},
      {"mse", "least expected quantization MSE on the target grid, from a histogram",
       calib::NewMseCalibrator},
  };
  return kMethods;
}

Result<std::unique_ptr<Calibrator>> CreateCalibrator(const CalibrationOptions& options) {
  std::string names;
  for (const CalibrationMethod& method : CalibrationMethods()) {
    if (options.method == method.name) return method.factory(options);
    names += (names.empty() ? "" : ", ") + std::string(method.name);
  }
  return Status::InvalidArgument("unknown calibration method '" + options.method +
                                 "' (valid: " + names + ")");
}

}  // namespace pq
