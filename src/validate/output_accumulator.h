// OutputAccumulator: streaming statistics of one model output compared
// between a reference and a candidate, batch by batch. It keeps sums and
// counts only, so memory does not grow with the number of samples.
#ifndef PQ_SRC_VALIDATE_OUTPUT_ACCUMULATOR_H_
#define PQ_SRC_VALIDATE_OUTPUT_ACCUMULATOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pq/status.h"
#include "pq/tensor.h"
#include "pq/validate.h"

namespace pq::validate {

// Running sums of the element-wise error between a reference and a candidate
// model output, added one value pair at a time. Non-finite values that differ
// count as mismatches (infinite max and mean error, SQNR -inf).
// Not quant::ErrorSums, which measures a weight against its dequantized copy:
// that one sums in eight lanes, merges chunks, ignores non-finite values and
// gives cosine 1 for two zero vectors; the two write different figures.
class OutputErrorSums {
 public:
  void Add(double reference, double candidate);
  int64_t elements() const { return elements_; }
  // Fills sqnr_db, cosine, max/mean abs error and mismatch count of `out`.
  void Fill(OutputComparison* out) const;

 private:
  int64_t elements_ = 0;
  int64_t mismatches_ = 0;  // non-finite values that differ
  double signal_ = 0, noise_ = 0, dot_ = 0, candidate_power_ = 0;
  double abs_sum_ = 0, max_abs_ = 0;
};

class OutputAccumulator {
 public:
  // `labels` (may be null) has one class index per sample and outlives this.
  OutputAccumulator(std::string name, TaskKind task, const std::vector<int64_t>* labels,
                    std::string labels_origin);

  // Adds one batch: samples [first_sample, first_sample + samples).
  // Errors (kInvalidInput): shapes or types that differ between the models or
  // from earlier batches, labels that do not fit the output.
  Status Add(const Tensor& reference, const Tensor& candidate, int64_t first_sample,
             int64_t samples);

  // Also counts flips and accuracy per group: `groups` has one id per sample,
  // `names` (may be empty) names them; both outlive this. `origin` names the
  // groups file in messages.
  void SetGroups(const std::vector<int64_t>* groups, const std::vector<std::string>* names,
                 std::string origin);

  bool classification() const { return classes_ > 0; }
  OutputComparison Finish() const;

 private:
  Status StartClassification(const Tensor& reference);
  Status AddPredictions(const std::vector<double>& reference, const std::vector<double>& candidate,
                        int64_t rows, int64_t first_sample, int64_t samples);

  std::string name_;
  TaskKind task_;
  const std::vector<int64_t>* labels_;
  std::string labels_origin_;
  bool started_ = false;
  std::vector<int64_t> trailing_shape_;  // shape without the batch axis
  OutputErrorSums sums_;
  int64_t classes_ = 0;  // > 0 once classification metrics are collected
  int64_t rows_ = 0, agreements_ = 0;
  int64_t reference_correct_ = 0, candidate_correct_ = 0;
  std::vector<ClassStats> per_class_;
  const std::vector<int64_t>* groups_ = nullptr;
  const std::vector<std::string>* group_names_ = nullptr;
  std::string groups_origin_;
  std::map<int64_t, GroupStats> per_group_;
};

// Converts the elements of a tensor of any numeric executor type to double.
// Errors (kInvalidInput): types without a numeric value.
Result<std::vector<double>> ToDoubles(const Tensor& t, const std::string& what);

}  // namespace pq::validate

#endif  // PQ_SRC_VALIDATE_OUTPUT_ACCUMULATOR_H_
