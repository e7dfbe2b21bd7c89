// Calibration of the values inside If/Loop/Scan bodies, for the Body stage
// of a static scheme (body_stage.h). A body runs only when its node runs it
// (an If's branch when the condition picks it, a Loop's body for each
// iteration), so a value may be observed many times per sample or never:
// ranges cover every run of the body over the calibration data, and a value
// no sample reached has none.
#ifndef PQ_QUANT_BODY_CALIBRATION_H_
#define PQ_QUANT_BODY_CALIBRATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pq/activation_stats.h"
#include "pq/calibration_stats.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

struct BodyRanges {
  // By scoped name (ScopedValueName, base/body_path.h): only values that
  // were observed as float at least once.
  std::map<std::string, CalibratedRange> ranges;
  // The data read and the method used (`ranges` of it left empty).
  ActivationStats source;
  // Why a value has no range (said in the report of a body left float).
  std::string missing_reason = "no calibration sample ran this body";
};

// Runs options.calib_paths through `model` (the first options.calib_samples
// samples, options.calib_batch at a time) and calibrates the values named in
// `keys`, scoped names of body values or main-graph names, with the
// scheme's grid (CalibrationFor). Errors: the dataset's and the executor's;
// kInvalidInput naming a value whose every observed element was NaN or Inf.
Result<BodyRanges> CalibrateBodyValues(const Model& model, const std::set<std::string>& keys,
                                       const QuantizeOptions& options, const Scheme& scheme,
                                       const std::function<void(int64_t, int64_t)>& progress);

// The same ranges chosen from calibration statistics (a .pqcal gathered by
// `pq calibrate`, which holds body values by scoped name) instead of running
// the model: the values of `keys` the statistics hold. Errors:
// RangesFromStatistics' (calibrate_stage.h).
Result<BodyRanges> BodyRangesFromStatistics(const CalibrationStatistics& stats,
                                            const std::vector<std::string>& preparation,
                                            const std::set<std::string>& keys, const QuantizeOptions& options,
                                            const Scheme& scheme);

}  // namespace pq::quant

#endif  // PQ_QUANT_BODY_CALIBRATION_H_
