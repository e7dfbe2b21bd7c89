// AutoFallback: quantize, validate, and return the most sensitive nodes to
// FP32 a few at a time until the gates pass.
#include <algorithm>
#include <set>

#include "pq/validate.h"
#include "validate/node_ranking.h"

namespace pq {
namespace {

int64_t FailedGates(const FallbackStep& step) {
  return std::count_if(step.gates.begin(), step.gates.end(),
                       [](const GateResult& g) { return !g.passed; });
}

// True when `a` is a better model than `b`: it passes, or fails fewer gates,
// or has the higher output SQNR.
bool Better(const FallbackStep& a, const FallbackStep& b) {
  if (a.passed != b.passed) return a.passed;
  if (FailedGates(a) != FailedGates(b)) return FailedGates(a) < FailedGates(b);
  return MinOutputSqnr(a.metrics) > MinOutputSqnr(b.metrics);
}

// Quantizes with `excluded` added, validates, and appends the step. The
// outcome is kept in `result->best` when the step is the best so far.
Status RunStep(const Model& fp32, const QuantizeOptions& quantize, const ReferenceRun& reference,
               const Gates& gates, std::vector<std::string> returned,
               const std::vector<std::string>& excluded, FallbackResult* result) {
  Result<QuantizeOutcome> outcome = validate::QuantizeExcluding(fp32, quantize, excluded);
  if (!outcome.ok()) return outcome.status();
  Result<Comparison> comparison = reference.Compare(*outcome->model);
  if (!comparison.ok()) return comparison.status();
  Result<std::vector<GateResult>> verdicts = EvaluateGates(comparison.value(), gates);
  if (!verdicts.ok()) return verdicts.status();
  FallbackStep step;
  step.returned = std::move(returned);
  step.excluded = excluded;
  step.nodes_quantized = outcome->nodes_quantized;
  step.metrics = std::move(comparison).value();
  step.gates = std::move(verdicts).value();
  step.passed = AllGatesPassed(step.gates);
  const bool best = result->steps.empty() || Better(step, result->steps[result->best_step]);
  result->steps.push_back(std::move(step));
  if (best) {
    result->best_step = result->steps.size() - 1;
    result->best = std::move(outcome).value();
    result->gates_passed = result->steps.back().passed;
  }
  return Status::OK();
}

}  // namespace

Result<FallbackResult> AutoFallback(const Model& fp32, const QuantizeOptions& quantize,
                                    const ValidationData& data, const Gates& gates,
                                    const FallbackOptions& options, const ProgressFn& progress) {
  if (options.nodes_per_step < 1) {
    return Status::InvalidArgument("auto-fallback: nodes per step must be at least 1");
  }
  Result<std::unique_ptr<ReferenceRun>> reference = ReferenceRun::Create(fp32, data, progress);
  if (!reference.ok()) return reference.status();
  const ReferenceRun& ref = *reference.value();
  // Calibrate once: every step and the ranking reuse the first run's ranges.
  QuantizeOptions quantize_shared = quantize;
  FallbackResult result;
  PQ_RETURN_IF_ERROR(RunStep(fp32, quantize_shared, ref, gates, {}, {}, &result));
  if (result.gates_passed) return result;
  quantize_shared.activation_stats = result.best.activation_stats;

  // Rank the nodes step 0 quantized, once.
  Result<std::vector<NodeSensitivity>> ranking = validate::RankSingleNodes(
      fp32, quantize_shared, validate::QuantizedNodes(result.best), ref, progress);
  if (!ranking.ok()) return ranking.status();
  result.ranking = std::move(ranking).value();

  std::vector<std::string> excluded;
  size_t next = 0;
  while (!result.gates_passed && next < result.ranking.size()) {
    std::vector<std::string> returned;
    for (int k = 0; k < options.nodes_per_step && next < result.ranking.size(); ++k) {
      returned.push_back(result.ranking[next++].node);
    }
    excluded.insert(excluded.end(), returned.begin(), returned.end());
    PQ_RETURN_IF_ERROR(RunStep(fp32, quantize_shared, ref, gates, returned, excluded, &result));
    if (progress) {
      progress("fallback", static_cast<int64_t>(next), static_cast<int64_t>(result.ranking.size()));
    }
  }
  return result;
}

nlohmann::ordered_json FallbackToJson(const FallbackResult& result, const Gates& gates) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["passed"] = result.gates_passed;
  j["best_step"] = result.best_step;
  j["returned_to_fp32"] = result.steps.empty() ? std::vector<std::string>{}
                                               : result.steps[result.best_step].excluded;
  ordered_json steps = ordered_json::array();
  for (size_t i = 0; i < result.steps.size(); ++i) {
    const FallbackStep& s = result.steps[i];
    ordered_json step = {{"step", i},
                         {"returned", s.returned},
                         {"excluded", s.excluded},
                         {"nodes_quantized", s.nodes_quantized},
                         {"passed", s.passed},
                         {"validation", ValidationToJson(s.metrics, gates, s.gates)}};
    steps.push_back(std::move(step));
  }
  j["steps"] = std::move(steps);
  return j;
}

}  // namespace pq
