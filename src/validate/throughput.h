// The brief's speed figures on pq's executor: time per sample and samples
// per second of a model (median of repeated runs of one batch), the
// accuracy-to-latency ratio and the cost of 1,000 requests.
#ifndef PQ_VALIDATE_THROUGHPUT_H_
#define PQ_VALIDATE_THROUGHPUT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "pq/executor.h"
#include "pq/validate.h"

namespace pq::validate {

// Runs `executor` on `feeds` (`samples` samples) once to warm up, then
// `runs` times, and keeps the median. `threads` is what the executor was
// created with (0 = all cores; the figure records the count used).
// REQUIRES: runs >= 1. Errors: the executor's.
Result<Throughput> MeasureThroughput(const Executor& executor, const std::map<std::string, Tensor>& feeds,
                                     int64_t samples, int runs, int threads);

// Fills quality_per_ms and cost_per_1000 of both models' figures from the
// comparison: accuracy when it has labels, else top-1 agreement (1 for the
// reference), of the first classification output or of the language model.
void AddQualityAndCost(Comparison* comparison, const std::optional<double>& cost_per_hour);

}  // namespace pq::validate

#endif  // PQ_VALIDATE_THROUGHPUT_H_
