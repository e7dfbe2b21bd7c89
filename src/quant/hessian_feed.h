// Where the Decide stage gets the X^T X of the weights it rounds (GPTQ): a
// segment at a time, each segment completing the Hessians of some planned
// constants, which Decide rounds before asking for the next. Either every
// Hessian held at once (HeldHessianFeed: AWQ's, which needs them all before
// rewriting the model) or summed segment by segment (SegmentedHessians), so
// that only one segment's Hessians are in memory.
//
// Every layer sees the FP32 model's inputs: a segment continues from the
// FP32 values at its cut, not from the outputs of the layers already
// rounded. So every Hessian is the one-pass stage's (CollectHessians), bit
// for bit, whatever the segments, and so is the model written.
#ifndef PQ_QUANT_HESSIAN_FEED_H_
#define PQ_QUANT_HESSIAN_FEED_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/calibrate_stage.h"
#include "quant/hessian_segments.h"
#include "quant/hessian_stage.h"
#include "quant/plan.h"

namespace pq::quant {

class HessianFeed {
 public:
  virtual ~HessianFeed() = default;
  // Advances to the next segment, freeing the Hessians no later segment's
  // constants need; false when every segment has been handed out. Errors:
  // those of running the model over the data and of summing X^T X.
  virtual Result<bool> Next() = 0;
  // After Next() returned true: what HessianOf needs for each constant of
  // ready() (Hessians of earlier segments too when a constant needs both).
  virtual const LayerHessians& hessians() const = 0;
  // After Next() returned true: indices into plan.constants to round now,
  // ascending. Every constant is listed at most once over all segments; the
  // constants never listed need no Hessian.
  virtual const std::vector<size_t>& ready() const = 0;
};

// One segment: `hessians`, with every one of `constant_count` constants
// ready.
std::unique_ptr<HessianFeed> HeldHessianFeed(LayerHessians hessians, size_t constant_count);

// Hessians summed in segments (PlanHessianSegments) of `budget_bytes` each:
// every calibration batch runs through a segment's steps (the FP32 model,
// from the values kept at the previous cut), its inputs' X^T X are summed,
// then its constants are handed out. Kept between segments: the values
// crossing the cut, for every batch.
class SegmentedHessians : public HessianFeed {
 public:
  // Opens the calibration data and an executor of `prepared` (as
  // CollectHessians does) and plans the segments of `plan`'s inputs.
  // `prepared` and `plan` must outlive the feed. Errors (before any run):
  // OpenCalibrationRun's; kInvalidArgument for calib_batch < 1.
  static Result<std::unique_ptr<SegmentedHessians>> Open(const Model& prepared, const QuantPlan& plan,
                                                         const QuantizeOptions& options, int64_t budget_bytes,
                                                         std::function<void(int64_t, int64_t)> progress);
  Result<bool> Next() override;
  const LayerHessians& hessians() const override { return held_; }
  const std::vector<size_t>& ready() const override { return ready_; }

  // The data read (files, samples, batch), known at Open.
  const LayerHessians& data() const { return meta_; }
  const std::vector<HessianSegment>& segments() const { return segments_; }
  // The most Hessian bytes (HessianBytes) held at once, collecting or handed
  // out, so far.
  int64_t peak_held_bytes() const { return peak_held_bytes_; }

 private:
  SegmentedHessians() = default;
  // Runs every batch through segment `s`, returning its inputs' sums.
  Result<std::map<HessianInput, InputHessian>> Collect(size_t s);

  CalibrationRun run_;
  int64_t samples_ = 0;  // rows read, in batches of batch_
  int64_t batch_ = 1;
  int threads_ = 0;
  std::function<void(int64_t, int64_t)> progress_;
  std::vector<HessianSegment> segments_;
  std::vector<std::vector<size_t>> ready_by_segment_;
  std::map<HessianInput, size_t> last_needed_;  // the last segment whose constants read it
  std::vector<std::map<std::string, Tensor>> live_;  // by batch: values at the current cut
  size_t next_ = 0;
  LayerHessians meta_;
  LayerHessians held_;
  std::vector<size_t> ready_;
  int64_t peak_held_bytes_ = 0;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_HESSIAN_FEED_H_
