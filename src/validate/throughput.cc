#include "validate/throughput.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace pq::validate {
namespace {

// Milliseconds per hour and requests per quote: the cost of 1,000 requests
// from a price per hour.
constexpr double kMsPerHour = 3600.0 * 1000.0;
constexpr double kRequestsPerQuote = 1000.0;

}  // namespace

Result<Throughput> MeasureThroughput(const Executor& executor, const std::map<std::string, Tensor>& feeds,
                                     int64_t samples, int runs, int threads) {
  Result<std::vector<Tensor>> warm_up = executor.Run(feeds);
  if (!warm_up.ok()) return warm_up.status();
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    Result<std::vector<Tensor>> out = executor.Run(feeds);
    if (!out.ok()) return out.status();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms.size() % 2 == 1 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
  Throughput t;
  t.ms_per_sample = median / static_cast<double>(samples);
  t.samples_per_second = t.ms_per_sample > 0 ? 1000.0 / t.ms_per_sample : 0;
  t.runs = runs;
  t.threads = threads > 0 ? threads : omp_get_max_threads();
  t.batch = samples;
  return t;
}

void AddQualityAndCost(Comparison* c, const std::optional<double>& cost_per_hour) {
  if (!c->reference_speed || !c->candidate_speed) return;
  std::optional<double> reference_quality, candidate_quality;
  std::string quality;
  for (const OutputComparison& o : c->outputs) {
    if (!o.classification) continue;
    const ClassificationMetrics& m = *o.classification;
    if (m.has_labels) {
      reference_quality = m.reference_accuracy;
      candidate_quality = m.candidate_accuracy;
      quality = "accuracy";
    } else {
      reference_quality = 1.0;
      candidate_quality = m.top1_agreement;
      quality = "top1_agreement";
    }
    break;
  }
  if (quality.empty() && c->lm) {
    reference_quality = 1.0;
    candidate_quality = c->lm->top1_agreement;
    quality = "top1_agreement";
  }
  auto fill = [&](Throughput* t, const std::optional<double>& q) {
    if (q && t->ms_per_sample > 0) {
      t->quality_per_ms = *q / t->ms_per_sample;
      t->quality = quality;
    }
    if (cost_per_hour) t->cost_per_1000 = *cost_per_hour * t->ms_per_sample * kRequestsPerQuote / kMsPerHour;
  };
  fill(&*c->reference_speed, reference_quality);
  fill(&*c->candidate_speed, candidate_quality);
}

}  // namespace pq::validate
