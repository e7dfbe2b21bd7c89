// Factories of the calibration methods, one per file; the table in
// method_table.cc lists them. Each checks the options it uses and returns
// kInvalidArgument naming the bad one.
#ifndef PQ_SRC_CALIB_METHODS_H_
#define PQ_SRC_CALIB_METHODS_H_

#include <memory>

#include "pq/calibration.h"

namespace pq::calib {

// minmax.cc: the running minimum and maximum.
Result<std::unique_ptr<Calibrator>> NewMinMaxCalibrator(const CalibrationOptions& options);
// percentile.cc: a percentile of |x| (symmetric grid) or both tails of x.
Result<std::unique_ptr<Calibrator>> NewPercentileCalibrator(const CalibrationOptions& options);
// entropy.cc: the KL-divergence threshold search (TensorRT's method).
Result<std::unique_ptr<Calibrator>> NewEntropyCalibrator(const CalibrationOptions& options);
// mse.cc: the range with the least expected quantization MSE on the grid.
Result<std::unique_ptr<Calibrator>> NewMseCalibrator(const CalibrationOptions& options);

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_METHODS_H_
