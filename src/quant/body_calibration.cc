#include "quant/body_calibration.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "base/body_path.h"
#include "pq/calibration.h"
#include "quant/calibrate_stage.h"

namespace pq::quant {

Result<BodyRanges> CalibrateBodyValues(const Model& model, const std::set<std::string>& keys,
                                       const QuantizeOptions& options, const Scheme& scheme,
                                       const std::function<void(int64_t, int64_t)>& progress) {
  const CalibrationOptions calibration = CalibrationFor(options, scheme);
  Result<std::unique_ptr<CalibrationCollector>> collector =
      CalibrationCollector::Create(keys, calibration, /*bodies=*/true);
  if (!collector.ok()) return collector.status();
  Result<CalibrationRun> run = OpenCalibrationRun(model, options);
  if (!run.ok()) return run.status();
  Result<CalibrationPass> pass = ObserveCalibrationRun(run.value(), options, collector->get(), {}, progress);
  if (!pass.ok()) return pass.status();
  Result<std::map<std::string, CalibratedRange>> ranges = collector.value()->ObservedResults();
  if (!ranges.ok()) return ranges.status();
  BodyRanges out;
  out.ranges = std::move(ranges).value();
  out.source.files = pass->files;
  out.source.samples = pass->samples;
  out.source.batch = pass->batch;
  out.source.calibration = calibration;
  return out;
}

Result<BodyRanges> BodyRangesFromStatistics(const CalibrationStatistics& stats,
                                            const std::vector<std::string>& preparation,
                                            const std::set<std::string>& keys, const QuantizeOptions& options,
                                            const Scheme& scheme) {
  Result<ActivationStats> found = RangesFromStatistics(stats, preparation, keys, CalibrationFor(options, scheme));
  if (!found.ok()) return found.status();
  BodyRanges out;
  out.ranges = std::move(found->ranges);
  found->ranges.clear();
  out.source = std::move(found).value();
  const bool any_body = std::any_of(stats.tensors.begin(), stats.tensors.end(),
                                    [](const auto& t) { return IsBodyValueName(t.first); });
  if (!any_body) {
    out.missing_reason = "'" + stats.source_path +
                         "' holds no values inside bodies: no calibration sample ran one, or an older pq "
                         "gathered it (run pq calibrate again)";
  }
  return out;
}

}  // namespace pq::quant
