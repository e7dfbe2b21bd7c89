#include <algorithm>
#include <string>

#include "pq/calibration.h"

namespace pq {

Result<CalibrationResult> Calibrate(const Executor& executor, const Dataset& data,
                                    const std::set<std::string>& tensors,
                                    const CalibrationOptions& options, int64_t batch,
                                    int64_t max_samples,
                                    const std::function<void(int64_t done, int64_t total)>& progress) {
  if (batch < 1) {
    return Status::InvalidArgument("calibration batch must be at least 1, got " +
                                   std::to_string(batch));
  }
  if (tensors.empty()) return Status::InvalidArgument("no tensors to calibrate were given");
  Result<std::unique_ptr<CalibrationCollector>> collector =
      CalibrationCollector::Create(tensors, options);
  if (!collector.ok()) return collector.status();

  const int64_t total =
      max_samples > 0 ? std::min(max_samples, data.num_samples()) : data.num_samples();
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t count = std::min(batch, total - first);
    Result<std::map<std::string, Tensor>> feeds = data.Batch(first, count);
    if (!feeds.ok()) return feeds.status();
    Result<std::vector<Tensor>> outputs = executor.Run(feeds.value(), collector.value().get());
    if (!outputs.ok()) return outputs.status();
    if (first == 0) {
      // Every run produces every tensor, so what the first one did not is not
      // in the model: fail now rather than after the whole dataset.
      const std::vector<std::string> missing = collector.value()->Missing();
      if (!missing.empty()) return collector.value()->Results().status();
    }
    if (progress) progress(first + count, total);
  }

  Result<std::map<std::string, CalibratedRange>> ranges = collector.value()->Results();
  if (!ranges.ok()) return ranges.status();
  CalibrationResult result;
  result.ranges = std::move(ranges).value();
  result.samples_used = total;
  result.batch = batch;
  return result;
}

}  // namespace pq
