#include <string>
#include <utility>

#include "pq/calibration.h"
#include "pq/data_type.h"

namespace pq {
namespace {

// "'a', 'b'"
std::string QuotedList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

}  // namespace

CalibrationCollector::CalibrationCollector(std::set<std::string> tensors,
                                           CalibrationOptions options, bool bodies)
    : tensors_(std::move(tensors)), options_(std::move(options)), bodies_(bodies) {}

Result<std::unique_ptr<CalibrationCollector>> CalibrationCollector::Create(
    std::set<std::string> tensors, const CalibrationOptions& options, bool bodies) {
  Result<std::unique_ptr<Calibrator>> probe = CreateCalibrator(options);
  if (!probe.ok()) return probe.status();
  return std::unique_ptr<CalibrationCollector>(
      new CalibrationCollector(std::move(tensors), options, bodies));
}

void CalibrationCollector::OnTensor(const std::string& name, const Tensor& value) {
  if (tensors_.find(name) == tensors_.end()) return;
  if (value.dtype() != kFloat) {
    non_float_[name] = value.dtype();
    return;
  }
  std::unique_ptr<Calibrator>& calibrator = calibrators_[name];
  if (calibrator == nullptr) {
    // The options were checked in Create(), so this cannot fail.
    calibrator = std::move(CreateCalibrator(options_).value());
  }
  calibrator->Observe(value.data<float>(), value.size());
}

std::vector<std::string> CalibrationCollector::Missing() const {
  std::vector<std::string> missing;
  for (const std::string& name : tensors_) {
    if (calibrators_.find(name) == calibrators_.end()) missing.push_back(name);
  }
  return missing;
}

Result<std::map<std::string, CalibratedRange>> CalibrationCollector::Results() const {
  const std::vector<std::string> missing = Missing();
  if (!missing.empty()) {
    std::string message = "tensors requested for calibration were never observed as float: " +
                          QuotedList(missing);
    for (const std::string& name : missing) {
      auto it = non_float_.find(name);
      if (it != non_float_.end()) {
        message += "; '" + name + "' is " + DataTypeName(it->second) +
                   " (only float tensors are calibrated)";
      }
    }
    return Status::InvalidInput(message);
  }
  return ObservedResults();
}

Result<std::map<std::string, CalibratedRange>> CalibrationCollector::ObservedResults() const {
  std::map<std::string, CalibratedRange> ranges;
  for (const auto& [name, calibrator] : calibrators_) {
    Result<CalibratedRange> range = calibrator->Compute();
    if (!range.ok()) return range.status().WithPrefix("tensor '" + name + "'");
    ranges.emplace(name, std::move(range).value());
  }
  return ranges;
}

}  // namespace pq
