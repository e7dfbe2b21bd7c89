// Calibration: activation ranges observed on representative data.
//
// A Calibrator watches the values of one tensor and picks the float range
// [chosen_min, chosen_max] a quantizer maps onto its integer grid. Methods are
// registered in one table (CalibrationMethods(), src/calib/method_table.cc).
// Histogram-based methods keep a fixed number of bins whatever the number of
// samples, so memory is constant in the amount of calibration data.
//
// A CalibrationCollector is the executor Observer that feeds the tensors a
// quantizer asked for to their calibrators; Calibrate() runs a Dataset through
// an Executor with one and returns the ranges.
#ifndef PQ_CALIBRATION_H_
#define PQ_CALIBRATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq {

struct TensorStatistics;  // calibration_stats.h

// The integer grid a range is calibrated for. Symmetric grids put real 0 on
// integer 0 and map [-t, t] onto the grid (scale 2t / (qmax - qmin), as ONNX
// Runtime does); asymmetric grids map [min, max] onto [qmin, qmax].
// REQUIRES (checked by the factories): qmin < qmax; qmin < 0 < qmax when
// symmetric.
struct QuantGrid {
  bool symmetric = true;
  int64_t qmin = -127;
  int64_t qmax = 127;
};

// int8 symmetric [-127, 127] and uint8 asymmetric [0, 255].
inline QuantGrid Int8SymmetricGrid() { return QuantGrid{true, -127, 127}; }
inline QuantGrid Uint8AsymmetricGrid() { return QuantGrid{false, 0, 255}; }

struct CalibrationOptions {
  // A name from CalibrationMethods().
  std::string method = "minmax";
  // For "percentile": the share of values (in percent, (0, 100]) kept inside
  // the range; symmetric grids take it of |x|, asymmetric ones of each tail.
  double percentile = 99.99;
  // Histogram bins per sign (histogram methods). A power of two in
  // [kMinCalibrationBins, kMaxCalibrationBins].
  int bins = 2048;
  QuantGrid grid;
};

inline constexpr int kMinCalibrationBins = 256;
inline constexpr int kMaxCalibrationBins = 1 << 20;

// What a calibrator saw and chose for one tensor; the report records it as is.
struct CalibratedRange {
  std::string method;
  // The method's parameters as used (e.g. {"percentile": 99.99, "bins": 2048}).
  nlohmann::ordered_json parameters;
  // Every element observed, including NaN and ±Inf.
  int64_t values_seen = 0;
  int64_t nan_count = 0;
  int64_t inf_count = 0;
  // Extremes of the finite values.
  float observed_min = 0;
  float observed_max = 0;
  // The range to quantize to. Always chosen_min <= 0 <= chosen_max; for a
  // symmetric grid chosen_min == -chosen_max. Lies within the observed
  // extremes (widened to include 0). It has zero width only when every finite
  // value is 0; the quantizer then picks the scale.
  float chosen_min = 0;
  float chosen_max = 0;
  // Share of the finite values outside [chosen_min, chosen_max]. Exact for
  // minmax (0); for histogram methods estimated from the histogram assuming
  // values are spread evenly within a bin.
  double clipped_fraction = 0;
};

// `range` as the report and ActivationStats record it: every field, in the
// order declared above.
nlohmann::ordered_json CalibratedRangeToJson(const CalibratedRange& range);

// Watches the values of one tensor. Not thread-safe.
class Calibrator {
 public:
  virtual ~Calibrator() = default;
  // Adds `count` values. NaN and ±Inf are counted but do not shape the range.
  virtual void Observe(const float* data, int64_t count) = 0;
  // Adds statistics observed elsewhere (another shard, a .pqcal file), as if
  // their values had been observed here: Compute() then returns exactly what
  // observing all the values would have. Errors (kInvalidInput): statistics
  // that are inconsistent or have another bin count than the options.
  virtual Status AddStatistics(const TensorStatistics& stats) = 0;
  // The range for everything observed so far. Errors (kInvalidInput): no
  // finite value was observed.
  virtual Result<CalibratedRange> Compute() const = 0;
};

// One row of the method table.
struct CalibrationMethod {
  const char* name;
  const char* summary;  // one line, for --help and `pq schemes`
  // Errors (kInvalidArgument): an option value the method cannot use.
  Result<std::unique_ptr<Calibrator>> (*factory)(const CalibrationOptions& options);
};

// The registered methods, in table order: minmax, percentile, entropy, mse.
const std::vector<CalibrationMethod>& CalibrationMethods();

// Creates the calibrator `options.method` names. Errors (kInvalidArgument):
// an unknown name (listing the valid ones) or an invalid option.
Result<std::unique_ptr<Calibrator>> CreateCalibrator(const CalibrationOptions& options);

// An executor Observer that calibrates the float tensors named in `tensors`
// and ignores every other tensor. Calibrators are created on first sight.
class CalibrationCollector : public Observer {
 public:
  // `tensors` is the set the quantizer will put QDQ on; with `bodies`, it may
  // name values inside If/Loop/Scan bodies (Observer::ObservesBodies).
  // Errors (kInvalidArgument): invalid options (checked by creating one
  // calibrator up front).
  static Result<std::unique_ptr<CalibrationCollector>> Create(std::set<std::string> tensors,
                                                              const CalibrationOptions& options,
                                                              bool bodies = false);

  void OnTensor(const std::string& name, const Tensor& value) override;
  bool ObservesBodies() const override { return bodies_; }

  // The requested tensors not yet observed as float, sorted.
  std::vector<std::string> Missing() const;

  // The range of every requested tensor, by name. Errors (kInvalidInput): a
  // requested tensor never observed (or only with a non-float type), or one
  // without a finite value; the message names the tensor.
  Result<std::map<std::string, CalibratedRange>> Results() const;

  // The range of every requested tensor observed as float so far (a value in
  // a body no run took has none). Errors (kInvalidInput): one without a
  // finite value, naming it.
  Result<std::map<std::string, CalibratedRange>> ObservedResults() const;

 private:
  CalibrationCollector(std::set<std::string> tensors, CalibrationOptions options, bool bodies);

  std::set<std::string> tensors_;
  CalibrationOptions options_;
  bool bodies_;
  std::map<std::string, std::unique_ptr<Calibrator>> calibrators_;
  std::map<std::string, int32_t> non_float_;  // requested names seen with another dtype
};

struct CalibrationResult {
  std::map<std::string, CalibratedRange> ranges;
  int64_t samples_used = 0;
  int64_t batch = 0;
};

// Runs samples [0, min(max_samples, data.num_samples())) of `data` through
// `executor` in order, `batch` samples per run, calibrating `tensors` with
// `options`. max_samples <= 0 means all. `progress` (may be empty) is called
// after each run with the samples done and the total.
// Errors: kInvalidArgument (batch < 1, no tensors, invalid options); the
// executor's and the dataset's errors; kInvalidInput naming every requested
// tensor the model does not produce (after the first run).
Result<CalibrationResult> Calibrate(const Executor& executor, const Dataset& data,
                                    const std::set<std::string>& tensors,
                                    const CalibrationOptions& options, int64_t batch,
                                    int64_t max_samples,
                                    const std::function<void(int64_t done, int64_t total)>& progress);

}  // namespace pq

#endif  // PQ_CALIBRATION_H_
