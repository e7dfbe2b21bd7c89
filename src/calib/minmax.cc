// minmax: the range is the observed [min, max] (widened to include 0;
// ±max|x| for a symmetric grid). Nothing is clipped.
#include <memory>

#include "calib/histogram.h"
#include "calib/methods.h"
#include "calib/range_builder.h"
#include "calib/value_stats.h"

namespace pq::calib {
namespace {

class MinMaxCalibrator : public Calibrator {
 public:
  explicit MinMaxCalibrator(const QuantGrid& grid) : grid_(grid) {}

  void Observe(const float* data, int64_t count) override { stats_.Add(ScanValues(data, count)); }

  // minmax needs only the counts and extremes, but the histogram is checked
  // all the same, so a file minmax accepts is one every method accepts.
  Status AddStatistics(const TensorStatistics& stats) override {
    Result<Histogram> histogram = Histogram::FromStatistics(stats);
    if (!histogram.ok()) return histogram.status();
    stats_.Merge(histogram->stats());
    return Status::OK();
  }

  Result<CalibratedRange> Compute() const override {
    nlohmann::ordered_json parameters;
    parameters["grid"] = GridJson(grid_);
    return FinishRange("minmax", std::move(parameters), stats_, grid_, stats_.min(), stats_.max());
  }

 private:
  QuantGrid grid_;
  ValueStats stats_;
};

}  // namespace

Result<std::unique_ptr<Calibrator>> NewMinMaxCalibrator(const CalibrationOptions& options) {
  PQ_RETURN_IF_ERROR(ValidateGrid(options.grid));
  return std::unique_ptr<Calibrator>(new MinMaxCalibrator(options.grid));
}

}  // namespace pq::calib
