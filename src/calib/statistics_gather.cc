// GatherCalibrationStatistics: an executor Observer that keeps a Histogram of
// every float tensor (those inside bodies by scoped name), run over one shard
// of a Dataset.
#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "calib/histogram.h"
#include "calib/range_builder.h"
#include "pq/calibration_stats.h"
#include "pq/data_type.h"

namespace pq {
namespace {

class HistogramObserver : public Observer {
 public:
  explicit HistogramObserver(int bins) : bins_(bins) {}

  void OnTensor(const std::string& name, const Tensor& value) override {
    if (value.dtype() != kFloat) return;
    auto it = histograms_.find(name);
    if (it == histograms_.end()) it = histograms_.emplace(name, calib::Histogram(bins_)).first;
    it->second.Add(value.data<float>(), value.size());
  }

  // Values inside If/Loop/Scan bodies too, by scoped name, so that a static
  // scheme can calibrate the bodies from the statistics.
  bool ObservesBodies() const override { return true; }

  const std::map<std::string, calib::Histogram>& histograms() const { return histograms_; }

 private:
  int bins_;
  std::map<std::string, calib::Histogram> histograms_;
};

// The feeds of samples `indices`, concatenated in order.
Result<std::map<std::string, Tensor>> Feeds(const Dataset& data, const std::vector<int64_t>& indices) {
  if (indices.size() == 1) return data.Batch(indices.front(), 1);
  std::map<std::string, std::vector<Tensor>> parts;
  for (int64_t i : indices) {
    Result<std::map<std::string, Tensor>> one = data.Batch(i, 1);
    if (!one.ok()) return one.status();
    for (auto& [name, tensor] : one.value()) parts[name].push_back(std::move(tensor));
  }
  std::map<std::string, Tensor> feeds;
  for (const auto& [name, tensors] : parts) {
    Result<Tensor> joined = ConcatenateRows(tensors, "calibration input '" + name + "'");
    if (!joined.ok()) return joined.status();
    feeds.emplace(name, std::move(joined).value());
  }
  return feeds;
}

}  // namespace

Result<CalibrationStatistics> GatherCalibrationStatistics(
    const Executor& executor, const Dataset& data, const StatisticsRun& run,
    const std::function<void(int64_t done, int64_t total)>& progress) {
  if (run.batch < 1) {
    return Status::InvalidArgument("calibration batch must be at least 1, got " + std::to_string(run.batch));
  }
  PQ_RETURN_IF_ERROR(calib::ValidateBins(run.bins));
  if (run.shard_count < 1 || run.shard_index < 1 || run.shard_index > run.shard_count) {
    return Status::InvalidArgument("shard " + std::to_string(run.shard_index) + "/" +
                                   std::to_string(run.shard_count) + " is not one of 1.." +
                                   std::to_string(std::max<int64_t>(run.shard_count, 1)));
  }
  const int64_t total =
      run.samples_limit > 0 ? std::min(run.samples_limit, data.num_samples()) : data.num_samples();
  std::vector<int64_t> shard;
  for (int64_t s = run.shard_index - 1; s < total; s += run.shard_count) shard.push_back(s);
  if (shard.empty()) {
    return Status::InvalidInput("shard " + std::to_string(run.shard_index) + "/" + std::to_string(run.shard_count) +
                                " of " + std::to_string(total) + " calibration samples holds no sample");
  }
  HistogramObserver observer(run.bins);
  const int64_t count = static_cast<int64_t>(shard.size());
  for (int64_t first = 0; first < count; first += run.batch) {
    const int64_t n = std::min(run.batch, count - first);
    // One shard of all: contiguous samples, read as calibration reads them.
    Result<std::map<std::string, Tensor>> feeds =
        run.shard_count == 1 ? data.Batch(shard[first], n)
                             : Feeds(data, std::vector<int64_t>(shard.begin() + first, shard.begin() + first + n));
    if (!feeds.ok()) return feeds.status();
    Result<std::vector<Tensor>> outputs = executor.Run(feeds.value(), &observer);
    if (!outputs.ok()) return outputs.status();
    if (progress) progress(first + n, count);
  }
  CalibrationStatistics stats;
  stats.samples_limit = run.samples_limit;
  stats.batch = run.batch;
  stats.shard_count = run.shard_count;
  stats.shards = {StatisticsShard{run.shard_index, count}};
  stats.samples = count;
  stats.bins = run.bins;
  for (const auto& [name, histogram] : observer.histograms()) stats.tensors.emplace(name, histogram.ToStatistics());
  return stats;
}

}  // namespace pq
