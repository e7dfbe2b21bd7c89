// Validation: does a quantized model still behave like its FP32 baseline?
//
// Compare() runs two models with pq's executor over the same data (any
// Dataset layout) and measures, per output, SQNR, cosine similarity and
// absolute errors; for classifier-like outputs top-1 agreement, flip rates
// (overall and per class) and, with labels, the accuracy of both models.
// Statistics are accumulated batch by batch: memory does not grow with the
// amount of data. EvaluateGates() turns a comparison into pass/fail verdicts
// for CI. AnalyzeSensitivity() ranks the quantizable nodes by how much
// quantizing each alone hurts the model output; AutoFallback() returns the
// most sensitive nodes to FP32 until the gates pass.
#ifndef PQ_VALIDATE_H_
#define PQ_VALIDATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"

namespace pq {

// Which outputs get classification metrics.
enum class TaskKind {
  kAuto,            // float outputs of rank 2 whose last axis has >= 2 entries
  kClassification,  // every float output of rank >= 2 (argmax over the last axis)
  kOther,           // none
  // Language-model metrics on the logits of a decoder fed token ids
  // (pq/language_model.h): perplexity, KL divergence, top-1 agreement.
  // kAuto picks it for a model with token inputs and a logits output.
  kLm,
};

// Parses "auto", "classification", "other" or "lm". Errors: kInvalidArgument.
Result<TaskKind> ParseTaskKind(const std::string& name);

// Reports progress: what is being done, units done, units in total.
using ProgressFn = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

// The data both models run on.
struct ValidationData {
  // Files or folders, as Dataset::Open takes them.
  std::vector<std::string> paths;
  // Optional .npy of integer class indices, one per sample ("" = none).
  std::string labels_path;
  // Optional .npy of integer group ids, one per sample, and a text file
  // naming them (line i names group i); "" = none.
  std::string groups_path;
  std::string group_names_path;
  int64_t batch = 1;         // samples per run, >= 1
  int threads = 0;           // executor threads; 0 = all cores
  TaskKind task = TaskKind::kAuto;
  TokenDataOptions tokens;   // for decoders fed token ids or text
  // Speed on pq's executor: each model runs the first batch this many times
  // after one warm-up run, and the median is kept (0 = not measured; timings
  // vary from run to run, so a report that must be byte-identical leaves
  // them out).
  int timing_runs = 0;
  // With a value: the cost of 1,000 requests (samples) at this price per
  // hour of the machine, from the measured time per sample.
  std::optional<double> cost_per_hour;
};

// How fast one model ran on pq's executor (ValidationData::timing_runs).
struct Throughput {
  double ms_per_sample = 0;       // median run time / samples per run
  double samples_per_second = 0;
  int runs = 0;
  int threads = 0;                // the executor's threads
  int64_t batch = 0;              // samples per timed run
  // Accuracy (with labels) or top-1 agreement with the reference (1 for the
  // reference itself) per millisecond per sample; absent when the
  // comparison has neither.
  std::optional<double> quality_per_ms;
  std::string quality;            // "accuracy" or "top1_agreement"
  std::optional<double> cost_per_1000;  // with ValidationData::cost_per_hour
};

// Next-token metrics of a candidate language model against a reference, over
// every predicted position (position t's logits predict token t + 1 of its
// row). Natural logarithms throughout.
struct LmMetrics {
  std::string output;    // the logits output
  int64_t positions = 0;
  double perplexity_ref = 0;   // exp(mean negative log-likelihood)
  double perplexity_cand = 0;
  double perplexity_ratio = 1;  // cand / ref
  // KL(P_ref || P_cand) of the next-token distributions, per position.
  double kld_mean = 0;
  double kld_median = 0;
  double kld_p99 = 0;  // nearest rank
  double kld_max = 0;
  double top1_agreement = 1;  // positions with the same argmax token
  // (perplexity_cand / perplexity_ref - 1) x 100.
  double PerplexityIncreasePercent() const { return (perplexity_ratio - 1) * 100; }
};

// Flip and accuracy counts of one class.
struct ClassStats {
  int64_t reference_predicted = 0;  // rows the reference assigns to this class
  int64_t flipped = 0;              // of those, rows the candidate assigns elsewhere
  int64_t labelled = 0;             // rows whose label is this class (with labels)
  int64_t reference_correct = 0;    // of those, rows the reference gets right
  int64_t candidate_correct = 0;    // of those, rows the candidate gets right
  // flipped / reference_predicted; empty when the reference never predicts it.
  std::optional<double> FlipRate() const;
};

// Flip and accuracy counts of one group of samples (ValidationData::groups_path):
// the evidence that quantization does not hurt one group more than others.
struct GroupStats {
  int64_t id = 0;
  std::string name;               // from the group names file, else the id
  int64_t rows = 0;               // predictions of the group's samples
  int64_t flipped = 0;            // rows whose top-1 class changed
  int64_t reference_correct = 0;  // with labels
  int64_t candidate_correct = 0;
  double FlipRate() const;    // flipped / rows (0 without rows)
  double DropPoints() const;  // (reference - candidate) accuracy x 100 (with labels)
};

struct ClassificationMetrics {
  int64_t classes = 0;
  int64_t rows = 0;        // predictions compared (samples, for rank-2 outputs)
  int64_t agreements = 0;  // rows with the same top-1 class
  double top1_agreement = 1;
  double flip_rate = 0;    // 1 - top1_agreement
  std::vector<ClassStats> per_class;
  // The largest per-class flip rate and its class (-1 when no row).
  double max_class_flip_rate = 0;
  int64_t max_class_flip_class = -1;
  bool has_labels = false;
  double reference_accuracy = 0;  // fractions in [0, 1]
  double candidate_accuracy = 0;
  double accuracy_drop_points = 0;  // (reference - candidate) accuracy x 100
  // With groups: every group that has samples, by id, and the index in
  // per_group of the worst one (largest accuracy drop with labels, else
  // largest flip rate; -1 without groups).
  std::vector<GroupStats> per_group;
  int64_t worst_group = -1;
};

// How far the candidate's output is from the reference's, over all samples.
struct OutputComparison {
  std::string name;
  int64_t elements = 0;
  // 10 log10(signal / noise); +inf when identical (never NaN), -inf when the
  // outputs disagree on non-finite values or the reference is all zero.
  double sqnr_db = 0;
  double cosine = 1;  // 1 when both are all zero
  double max_abs_error = 0;
  double mean_abs_error = 0;
  // Elements where one model is finite and the other is not (or they hold
  // different non-finite values).
  int64_t non_finite_mismatches = 0;
  std::optional<ClassificationMetrics> classification;
};

struct Comparison {
  std::string reference;  // models as named in messages
  std::string candidate;
  int64_t samples = 0;
  int64_t batch = 0;
  std::vector<OutputComparison> outputs;
  // Model file plus external data bytes (serialized size for in-memory
  // models); ratio = candidate / reference.
  int64_t reference_bytes = 0;
  int64_t candidate_bytes = 0;
  double size_ratio = 1;
  std::optional<LmMetrics> lm;  // with task kLm
  // Both models' speed on pq's executor, when ValidationData::timing_runs > 0.
  std::optional<Throughput> reference_speed;
  std::optional<Throughput> candidate_speed;
};

// The smallest SQNR over the outputs (+inf when there are none).
double MinOutputSqnr(const Comparison& comparison);

// Runs `reference` and `candidate` over `data`, batch by batch, and compares
// their outputs (matched by name, else by position). Only statistics are
// kept. `progress` (may be empty) gets stage "compare" and samples done.
// Errors: kInvalidArgument (batch < 1); kInvalidInput naming the model or
// file: different inputs or outputs, unreadable data or labels, labels of
// the wrong length, type or range, labels without a classification output;
// the executor's errors.
Result<Comparison> Compare(const Model& reference, const Model& candidate,
                           const ValidationData& data, const ProgressFn& progress = {});

// A reference model's outputs on a (small) validation set, kept in memory so
// that many candidates can be compared against one FP32 run.
class ReferenceRun {
 public:
  ~ReferenceRun();

  // Runs `reference` over `data` once. Errors: as Compare.
  static Result<std::unique_ptr<ReferenceRun>> Create(const Model& reference,
                                                      const ValidationData& data,
                                                      const ProgressFn& progress = {});

  // Compares `candidate` against the stored outputs (same metrics as
  // Compare). Errors: as Compare.
  Result<Comparison> Compare(const Model& candidate) const;

  const Model& reference() const;
  const Dataset& dataset() const;
  const ValidationData& data() const;

  struct State;  // implementation detail

 private:
  explicit ReferenceRun(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Bounds a comparison must meet; unset gates are not checked.
struct Gates {
  std::optional<double> min_sqnr_db;
  std::optional<double> min_cosine;
  std::optional<double> max_flip_rate;             // fraction in [0, 1]
  std::optional<double> max_accuracy_drop_points;  // percentage points
  std::optional<double> max_class_flip_rate;       // fraction in [0, 1]
  std::optional<double> max_group_drop_points;     // percentage points; needs labels and groups
  // Language-model gates (task lm).
  std::optional<double> max_ppl_increase_percent;
  std::optional<double> max_kld;             // on the mean KL divergence
  std::optional<double> min_top1_agreement;  // fraction in [0, 1]
  bool empty() const;
};

// One gate checked on one output.
struct GateResult {
  std::string gate;    // the flag's name: "min-sqnr", "max-flip-rate", ...
  std::string output;  // the output it was measured on
  double measured = 0;
  double bound = 0;
  bool passed = false;
  std::string detail;  // e.g. "class 3" for max-class-flip-rate
};

// Checks every set gate on every output it applies to (SQNR and cosine: all
// outputs; flip and accuracy gates: classification outputs; language-model
// gates: the logits). Errors (kInvalidArgument): a classification gate with
// no classification output, an accuracy gate without labels, a
// language-model gate without language-model metrics.
Result<std::vector<GateResult>> EvaluateGates(const Comparison& comparison, const Gates& gates);

bool AllGatesPassed(const std::vector<GateResult>& results);

// One line for a failed (or passed) gate: "gate min-sqnr failed on output
// 'logits': measured 3.2 dB, bound >= 20 dB".
std::string DescribeGate(const GateResult& result);

// JUnit XML (one <testsuite> named `suite`, one <testcase> per gate; a failed
// gate's <failure> message is DescribeGate's line) for CI systems. With no
// gate set, one passing testcase says the comparison ran.
std::string GatesToJunit(const std::string& suite, const std::vector<GateResult>& results);

// JSON renderings. Non-finite numbers are written as the strings "+inf" and
// "-inf" (JSON has no infinity), never as NaN.
nlohmann::ordered_json ComparisonToJson(const Comparison& comparison);
nlohmann::ordered_json GatesToJson(const Gates& gates, const std::vector<GateResult>& results);
// {"metrics": ..., "gates": ..., "passed": bool}: what the report's
// `validation` section embeds for one comparison.
nlohmann::ordered_json ValidationToJson(const Comparison& comparison, const Gates& gates,
                                        const std::vector<GateResult>& results);

// ---- Per-node sensitivity (pq analyze) ----

struct SensitivityOptions {
  // Scheme, calibration and node selection, as for Quantize().
  QuantizeOptions quantize;
  // The suggestion greedily excludes nodes until the model output reaches
  // this SQNR; unset = no suggestion.
  std::optional<double> target_sqnr_db;
};

struct NodeSensitivity {
  std::string node;
  std::string op_type;
  // Model output SQNR (the smallest over outputs) with only this node
  // quantized, against the FP32 model.
  double output_sqnr_db = 0;
  // Flip rate of the first classification output in that variant (0 without
  // one).
  double flip_rate = 0;
  // Mean KL divergence of the next-token distributions in that variant
  // (task lm only); it ranks the nodes when present.
  std::optional<double> kld_mean;
  // SQNR of this node's output when every node is quantized, against the
  // same tensor of the FP32 model (BatchNormalization folded as Quantize
  // does); it includes the error of the nodes before it. Empty when the
  // tensor could not be matched (or not measured: AutoFallback's ranking).
  std::optional<double> activation_sqnr_db;
};

// One step of the greedy suggestion: after excluding `excluded`, the model
// output SQNR.
struct SuggestionStep {
  std::vector<std::string> excluded;
  double output_sqnr_db = 0;
};

struct SensitivityReport {
  std::string scheme;
  int64_t samples = 0;
  // Every node quantized: model output SQNR and flip rate.
  double all_quantized_sqnr_db = 0;
  double all_quantized_flip_rate = 0;
  std::optional<double> all_quantized_kld_mean;  // task lm only
  // Most sensitive (highest kld_mean with task lm, else lowest output_sqnr_db) first.
  std::vector<NodeSensitivity> nodes;
  // Quantized nodes that cannot be isolated (no name for exclude_nodes).
  std::vector<std::string> unnamed_nodes;
  std::optional<double> target_sqnr_db;  // as given in the options
  std::vector<SuggestionStep> suggestion;
  std::vector<std::string> suggested_exclude;  // the last step's list
  bool target_reached = false;
};

// Ranks the nodes Quantize(options.quantize) would take. For each node the
// model is quantized with every other candidate in exclude_nodes; the FP32
// reference runs once over `data` and its outputs are reused by every
// variant. Calibration runs once per variant (Quantize takes no ranges);
// use quantize.calib_samples to bound its cost. `progress` stages:
// "reference", "nodes", "suggestion".
// Errors: Quantize's and Compare's.
Result<SensitivityReport> AnalyzeSensitivity(const Model& fp32, const ValidationData& data,
                                             const SensitivityOptions& options,
                                             const ProgressFn& progress = {});

nlohmann::ordered_json SensitivityToJson(const SensitivityReport& report);

// ---- Accuracy-aware fallback ----

struct FallbackOptions {
  // Nodes returned to FP32 per step ("a few at a time"), >= 1.
  int nodes_per_step = 2;
};

struct FallbackStep {
  std::vector<std::string> returned;  // nodes returned to FP32 in this step
  std::vector<std::string> excluded;  // every node FP32 so far (beyond the options')
  int64_t nodes_quantized = 0;
  Comparison metrics;
  std::vector<GateResult> gates;
  bool passed = false;
};

struct FallbackResult {
  // Step 0 quantizes as `options` say; each later step returns more nodes.
  std::vector<FallbackStep> steps;
  size_t best_step = 0;
  // The best model found: the first step that passes, else the step with
  // the fewest failed gates (then the highest output SQNR).
  QuantizeOutcome best;
  bool gates_passed = false;
  // Sensitivity order used to pick nodes (most sensitive first); empty when
  // step 0 passed.
  std::vector<NodeSensitivity> ranking;
};

// Quantizes `fp32` with `quantize`, compares against it on `data`, and while
// a gate fails returns the next `nodes_per_step` most sensitive quantized
// nodes to FP32 (adding them to exclude_nodes), re-validating, until the
// gates pass or no quantized node is left. Sensitivity is ranked once, as
// AnalyzeSensitivity does. REQUIRES: !gates.empty() for any fallback to happen.
// Errors: kInvalidArgument (nodes_per_step < 1, gates that do not apply);
// Quantize's and Compare's.
Result<FallbackResult> AutoFallback(const Model& fp32, const QuantizeOptions& quantize,
                                    const ValidationData& data, const Gates& gates,
                                    const FallbackOptions& options = {},
                                    const ProgressFn& progress = {});

// {"gates": {...}, "passed": bool, "best_step": n, "steps": [{returned,
// excluded, nodes_quantized, metrics, gates, passed}...]}: for the report's
// `validation` section.
nlohmann::ordered_json FallbackToJson(const FallbackResult& result, const Gates& gates);

}  // namespace pq

#endif  // PQ_VALIDATE_H_
