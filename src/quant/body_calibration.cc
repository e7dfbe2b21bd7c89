#include "quant/body_calibration.h"

#include <memory>
#include <utility>

#include "pq/calibration.h"
#include "pq/executor.h"
#include "quant/calibrate_stage.h"

namespace pq::quant {
namespace {

// Calibrates the float values named in `keys`, inside bodies too, each from
// its first sighting on; values never seen get no calibrator.
class BodyValueCollector : public Observer {
 public:
  BodyValueCollector(const std::set<std::string>& keys, const CalibrationOptions& options)
      : keys_(keys), options_(options) {}

  bool ObservesBodies() const override { return true; }

  void OnTensor(const std::string& name, const Tensor& value) override {
    if (value.dtype() != kFloat || keys_.count(name) == 0) return;
    std::unique_ptr<Calibrator>& calibrator = calibrators_[name];
    // The options were checked by creating one calibrator up front.
    if (calibrator == nullptr) calibrator = std::move(CreateCalibrator(options_).value());
    calibrator->Observe(value.data<float>(), value.size());
  }

  Result<std::map<std::string, CalibratedRange>> Ranges() const {
    std::map<std::string, CalibratedRange> ranges;
    for (const auto& [name, calibrator] : calibrators_) {
      Result<CalibratedRange> range = calibrator->Compute();
      if (!range.ok()) return range.status().WithPrefix("tensor '" + name + "'");
      ranges.emplace(name, std::move(range).value());
    }
    return ranges;
  }

 private:
  const std::set<std::string>& keys_;
  const CalibrationOptions& options_;
  std::map<std::string, std::unique_ptr<Calibrator>> calibrators_;
};

}  // namespace

Result<BodyRanges> CalibrateBodyValues(const Model& model, const std::set<std::string>& keys,
                                       const QuantizeOptions& options, const Scheme& scheme,
                                       const std::function<void(int64_t, int64_t)>& progress) {
  const CalibrationOptions calibration = CalibrationFor(options, scheme);
  Result<std::unique_ptr<Calibrator>> probe = CreateCalibrator(calibration);
  if (!probe.ok()) return probe.status();
  Result<CalibrationRun> run = OpenCalibrationRun(model, options);
  if (!run.ok()) return run.status();
  BodyValueCollector collector(keys, calibration);
  Result<CalibrationPass> pass = ObserveCalibrationRun(run.value(), options, &collector, {}, progress);
  if (!pass.ok()) return pass.status();
  Result<std::map<std::string, CalibratedRange>> ranges = collector.Ranges();
  if (!ranges.ok()) return ranges.status();
  BodyRanges out;
  out.ranges = std::move(ranges).value();
  out.source.files = pass->files;
  out.source.samples = pass->samples;
  out.source.batch = pass->batch;
  out.source.calibration = calibration;
  return out;
}

}  // namespace pq::quant
