// LmAccumulator: next-token metrics (perplexity, KL divergence, top-1
// agreement) of a candidate language model's logits against a reference's,
// batch by batch. Keeps one KL value per position (for the median and p99),
// nothing per vocabulary entry.
#ifndef PQ_SRC_VALIDATE_LM_METRICS_H_
#define PQ_SRC_VALIDATE_LM_METRICS_H_

#include <string>
#include <vector>

#include "pq/status.h"
#include "pq/tensor.h"
#include "pq/validate.h"

namespace pq::validate {

class LmAccumulator {
 public:
  explicit LmAccumulator(std::string output) : output_(std::move(output)) {}

  // Adds one batch: float logits [B, T, V] of both models and the int32/int64
  // token ids [B, T] they were fed. Position t of a row is scored on token
  // t + 1, so each row adds T - 1 positions.
  // Errors (kInvalidInput): shapes that do not fit, naming the output.
  Status Add(const Tensor& reference, const Tensor& candidate, const Tensor& tokens);

  LmMetrics Finish() const;

 private:
  std::string output_;
  double nll_ref_ = 0, nll_cand_ = 0;
  int64_t agreements_ = 0;
  std::vector<double> kld_;  // per position
};

}  // namespace pq::validate

#endif  // PQ_SRC_VALIDATE_LM_METRICS_H_
