// Running sums behind ErrorMetrics, so that a quantizer can measure its
// error block by block without keeping a dequantized copy of the weight.
// (validate::OutputErrorSums compares model outputs instead: one pair at a
// time, non-finite aware, with its own figures.)
#ifndef PQ_QUANT_ERROR_SUMS_H_
#define PQ_QUANT_ERROR_SUMS_H_

#include <cstdint>
#include <vector>

#include "pq/quant_params.h"

namespace pq::quant {

class ErrorSums {
 public:
  // Adds `count` pairs (original, dequantized). The order of additions is
  // fixed by the data alone, so equal inputs give equal sums.
  void Add(const float* original, const float* dequantized, int64_t count);
  // Adds another span's sums. Merging the same spans in the same order gives
  // the same result however the spans were computed (e.g. in parallel).
  void Merge(const ErrorSums& other);
  ErrorMetrics Finish() const;

 private:
  double signal_ = 0, noise_ = 0, dot_ = 0, norm_b_ = 0, max_abs_ = 0;
  int64_t count_ = 0;
};

// Merges per-chunk sums in chunk order.
ErrorMetrics MergeInOrder(const std::vector<ErrorSums>& chunks);

}  // namespace pq::quant

#endif  // PQ_QUANT_ERROR_SUMS_H_
