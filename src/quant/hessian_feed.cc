#include "quant/hessian_feed.h"

#include <algorithm>
#include <utility>

#include "quant/hessian_collector.h"

namespace pq::quant {
namespace {

class HeldFeed : public HessianFeed {
 public:
  HeldFeed(LayerHessians hessians, size_t constant_count) : hessians_(std::move(hessians)) {
    for (size_t i = 0; i < constant_count; ++i) ready_.push_back(i);
  }
  Result<bool> Next() override {
    if (handed_) {
      hessians_ = {};
      ready_.clear();
      return false;
    }
    handed_ = true;
    return true;
  }
  const LayerHessians& hessians() const override { return hessians_; }
  const std::vector<size_t>& ready() const override { return ready_; }

 private:
  LayerHessians hessians_;
  std::vector<size_t> ready_;
  bool handed_ = false;
};

int64_t BytesOf(const std::map<HessianInput, InputHessian>& sums) {
  int64_t bytes = 0;
  for (const auto& [in, h] : sums) bytes += HessianBytes(in);
  return bytes;
}

}  // namespace

std::unique_ptr<HessianFeed> HeldHessianFeed(LayerHessians hessians, size_t constant_count) {
  return std::make_unique<HeldFeed>(std::move(hessians), constant_count);
}

Result<std::unique_ptr<SegmentedHessians>> SegmentedHessians::Open(
    const Model& prepared, const QuantPlan& plan, const QuantizeOptions& options, int64_t budget_bytes,
    std::function<void(int64_t, int64_t)> progress) {
  if (options.calib_batch < 1) {
    return Status::InvalidArgument("calibration batch must be at least 1, got " +
                                   std::to_string(options.calib_batch));
  }
  std::unique_ptr<SegmentedHessians> feed(new SegmentedHessians());
  const std::vector<HessianInput> inputs = HessianInputsOf(prepared, plan);
  if (inputs.empty()) return feed;
  Result<CalibrationRun> run = OpenCalibrationRun(prepared, options);
  if (!run.ok()) return run.status();
  feed->run_ = std::move(run).value();
  const int64_t available = feed->run_.data->num_samples();
  feed->samples_ = options.calib_samples > 0 ? std::min(options.calib_samples, available) : available;
  feed->batch_ = options.calib_batch;
  feed->threads_ = options.threads;
  feed->progress_ = std::move(progress);
  feed->meta_.files = feed->run_.data->files();
  feed->meta_.samples = feed->samples_;
  feed->meta_.batch = feed->batch_;
  feed->segments_ =
      PlanHessianSegments(prepared, feed->run_.executor->ObservedStepNodes(), inputs, budget_bytes);
  std::map<HessianInput, size_t> segment_of;
  for (size_t s = 0; s < feed->segments_.size(); ++s) {
    for (const HessianInput& in : feed->segments_[s].inputs) {
      segment_of[in] = s;
      feed->last_needed_[in] = s;
    }
  }
  // A constant is ready in the segment that completes the last of its inputs.
  feed->ready_by_segment_.resize(feed->segments_.size());
  for (size_t i = 0; i < plan.constants.size(); ++i) {
    const std::vector<HessianInput> needs = HessianInputsOfConstant(prepared, plan.constants[i]);
    if (needs.empty()) continue;
    size_t ready = 0;
    for (const HessianInput& in : needs) ready = std::max(ready, segment_of.at(in));
    feed->ready_by_segment_[ready].push_back(i);
    for (const HessianInput& in : needs) feed->last_needed_[in] = std::max(feed->last_needed_[in], ready);
  }
  return feed;
}

Result<std::map<HessianInput, InputHessian>> SegmentedHessians::Collect(size_t s) {
  const HessianSegment& segment = segments_[s];
  const bool last = s + 1 == segments_.size();
  const int64_t batches = (samples_ + batch_ - 1) / batch_;
  live_.resize(static_cast<size_t>(batches));
  HessianCollector collector(segment.inputs, threads_);
  for (int64_t b = 0; b < batches; ++b) {
    std::map<std::string, Tensor>& live = live_[static_cast<size_t>(b)];
    if (s == 0) {
      Result<std::map<std::string, Tensor>> feeds = run_.data->Batch(b * batch_, std::min(batch_, samples_ - b * batch_));
      if (!feeds.ok()) return feeds.status();
      live = std::move(feeds).value();
    }
    Result<std::map<std::string, Tensor>> kept =
        run_.executor->RunPiece(std::move(live), segment.begin, segment.end, &collector);
    if (!kept.ok()) return kept.status();
    live = last ? std::map<std::string, Tensor>{} : std::move(kept).value();
    // Every batch produces every input: what the first did not is not there.
    if (b == 0 && !collector.Missing().empty()) return collector.Take().status();
    if (progress_) {
      const int64_t done = std::min(samples_, (b + 1) * batch_);
      progress_(static_cast<int64_t>(s) * samples_ + done, static_cast<int64_t>(segments_.size()) * samples_);
    }
  }
  return collector.Take();
}

Result<bool> SegmentedHessians::Next() {
  ready_.clear();
  for (auto it = held_.by_input.begin(); it != held_.by_input.end();) {
    it = last_needed_.at(it->first) < next_ ? held_.by_input.erase(it) : std::next(it);
  }
  if (next_ >= segments_.size()) {
    run_ = {};  // the executor and the data are not needed any more
    return false;
  }
  const int64_t collecting = BytesOf(held_.by_input);
  int64_t segment_bytes = 0;
  for (const HessianInput& in : segments_[next_].inputs) segment_bytes += HessianBytes(in);
  peak_held_bytes_ = std::max(peak_held_bytes_, collecting + segment_bytes);
  Result<std::map<HessianInput, InputHessian>> sums = Collect(next_);
  if (!sums.ok()) return sums.status();
  for (auto& [in, h] : sums.value()) held_.by_input[in] = std::move(h);
  held_.files = meta_.files;
  held_.samples = meta_.samples;
  held_.batch = meta_.batch;
  ready_ = ready_by_segment_[next_];
  ++next_;
  return true;
}

}  // namespace pq::quant
