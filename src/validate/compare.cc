// Compare and ReferenceRun: run a reference and a candidate model over the
// same data and accumulate how far the candidate's outputs are.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>

#include "onnx/onnx_pb.h"
#include "pq/data_type.h"
#include "pq/language_model.h"
#include "pq/validate.h"
#include "validate/labels.h"
#include "validate/lm_metrics.h"
#include "validate/output_accumulator.h"
#include "validate/throughput.h"

namespace pq {

struct ReferenceRun::State {
  const Model* reference = nullptr;
  ValidationData data;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<Dataset> dataset;
  bool has_labels = false;
  std::vector<int64_t> labels;
  bool has_groups = false;
  std::vector<int64_t> groups;
  std::vector<std::string> group_names;
  int64_t reference_bytes = 0;
  // Task lm: the logits output's index and the input holding the token ids.
  std::optional<size_t> lm_output;
  std::string token_input;
  // ReferenceRun only: the reference outputs of each batch.
  std::vector<std::vector<Tensor>> outputs;
};

namespace {

using State = ReferenceRun::State;
// Returns the reference outputs for batch `index` (fed `feeds`).
using ReferenceSource =
    std::function<Result<std::vector<Tensor>>(size_t index, const std::map<std::string, Tensor>& feeds)>;

// The model file and its external data, or the serialized size of a model
// that only lives in memory.
int64_t ModelBytes(const Model& model) {
  int64_t bytes = 0;
  std::error_code ec;
  if (!model.path().empty()) {
    const auto size = std::filesystem::file_size(model.path(), ec);
    if (!ec) bytes = static_cast<int64_t>(size);
  }
  if (model.path().empty() || ec) bytes = static_cast<int64_t>(model.proto().ByteSizeLong());
  for (const ExternalFile& f : model.ExternalFiles()) bytes += f.bytes;
  return bytes;
}

// Task lm (asked for, or picked by auto for a decoder with a logits output):
// finds the logits and the token input. Errors (kInvalidInput): task lm on a
// model without them, saying what is missing.
Status ChooseLmOutput(const Model& reference, State* state) {
  const Executor& executor = *state->executor;
  const TaskKind task = state->data.task;
  if (task != TaskKind::kLm && task != TaskKind::kAuto) return Status::OK();
  const std::optional<DecoderLayout> layout = RecognizeDecoder(executor.inputs(), executor.outputs());
  if (!layout || layout->logits_output.empty()) {
    if (task == TaskKind::kAuto) return Status::OK();
    return Status::InvalidInput(reference.origin() + ": task lm needs a decoder language model; it has " +
                                MissingForLanguageModel(executor.inputs(), executor.outputs()));
  }
  for (size_t o = 0; o < executor.outputs().size(); ++o) {
    if (executor.outputs()[o].name == layout->logits_output) state->lm_output = o;
  }
  state->token_input = layout->token_input;
  state->data.task = TaskKind::kLm;
  return Status::OK();
}

// Task lm asked for on a model that is no decoder: refused before the data is
// read, so that token data given to such a model gets this message rather
// than one about the data's element type.
Status CheckLmModel(const Model& reference, TaskKind task) {
  if (task != TaskKind::kLm) return Status::OK();
  const std::vector<TensorInfo> inputs = Executor::GraphInputs(reference);
  const std::vector<TensorInfo> outputs = Executor::GraphOutputs(reference);
  const std::optional<DecoderLayout> layout = RecognizeDecoder(inputs, outputs);
  if (layout && !layout->logits_output.empty()) return Status::OK();
  return Status::InvalidInput(reference.origin() + ": task lm needs a decoder language model; it has " +
                              MissingForLanguageModel(inputs, outputs));
}

Result<std::unique_ptr<State>> OpenState(const Model& reference, const ValidationData& data) {
  if (data.batch < 1) return Status::InvalidArgument("batch must be at least 1");
  PQ_RETURN_IF_ERROR(CheckLmModel(reference, data.task));
  auto state = std::make_unique<State>();
  state->reference = &reference;
  state->data = data;
  ExecutorOptions options;
  options.threads = data.threads;
  // The data first: data that does not fit fails before the executor copies
  // the weights.
  DatasetOptions dataset_options;
  dataset_options.outputs = Executor::GraphOutputs(reference);
  dataset_options.tokens = data.tokens;
  Result<std::unique_ptr<Dataset>> dataset =
      Dataset::Open(data.paths, Executor::GraphInputs(reference), dataset_options);
  if (!dataset.ok()) return dataset.status();
  state->dataset = std::move(dataset).value();
  Result<std::unique_ptr<Executor>> executor = Executor::Create(reference, options);
  if (!executor.ok()) return executor.status();
  state->executor = std::move(executor).value();
  if (!data.labels_path.empty()) {
    Result<std::vector<int64_t>> labels =
        validate::LoadLabels(data.labels_path, state->dataset->num_samples());
    if (!labels.ok()) return labels.status();
    state->labels = std::move(labels).value();
    state->has_labels = true;
  }
  if (!data.groups_path.empty()) {
    Result<std::vector<int64_t>> groups =
        validate::LoadLabels(data.groups_path, state->dataset->num_samples(), "group ids");
    if (!groups.ok()) return groups.status();
    state->groups = std::move(groups).value();
    state->has_groups = true;
  }
  if (!data.group_names_path.empty()) {
    Result<std::vector<std::string>> names = validate::LoadGroupNames(data.group_names_path);
    if (!names.ok()) return names.status();
    state->group_names = std::move(names).value();
  }
  state->reference_bytes = ModelBytes(reference);
  PQ_RETURN_IF_ERROR(ChooseLmOutput(reference, state.get()));
  return state;
}

Status CheckInputs(const Executor& reference, const Executor& candidate, const std::string& origin) {
  for (const TensorInfo& r : reference.inputs()) {
    auto it = std::find_if(candidate.inputs().begin(), candidate.inputs().end(),
                           [&](const TensorInfo& c) { return c.name == r.name; });
    if (it == candidate.inputs().end()) {
      return Status::InvalidInput(origin + ": has no input '" + r.name + "' (the reference has)");
    }
    if (it->dtype != r.dtype) {
      return Status::InvalidInput(origin + ": input '" + r.name + "' has element type " +
                                  DataTypeName(it->dtype) + ", the reference's has " +
                                  DataTypeName(r.dtype));
    }
  }
  if (candidate.inputs().size() != reference.inputs().size()) {
    return Status::InvalidInput(origin + ": has " + std::to_string(candidate.inputs().size()) +
                                " inputs, the reference " + std::to_string(reference.inputs().size()));
  }
  return Status::OK();
}

// For each reference output, the index of the candidate output it is
// compared with: the same name when every name matches, else by position.
Result<std::vector<size_t>> MatchOutputs(const Executor& reference, const Executor& candidate,
                                         const std::string& origin) {
  const auto& r = reference.outputs();
  const auto& c = candidate.outputs();
  if (r.size() != c.size()) {
    return Status::InvalidInput(origin + ": has " + std::to_string(c.size()) +
                                " outputs, the reference " + std::to_string(r.size()));
  }
  std::vector<size_t> match(r.size());
  for (size_t i = 0; i < r.size(); ++i) {
    auto it = std::find_if(c.begin(), c.end(), [&](const TensorInfo& t) { return t.name == r[i].name; });
    if (it == c.end()) {
      for (size_t k = 0; k < r.size(); ++k) match[k] = k;  // renamed outputs: by position
      return match;
    }
    match[i] = static_cast<size_t>(it - c.begin());
  }
  return match;
}

Result<Comparison> CompareAgainst(const State& state, const Model& candidate,
                                  const ReferenceSource& reference_outputs,
                                  const ProgressFn& progress) {
  ExecutorOptions options;
  options.threads = state.data.threads;
  Result<std::unique_ptr<Executor>> executor = Executor::Create(candidate, options);
  if (!executor.ok()) return executor.status();
  PQ_RETURN_IF_ERROR(CheckInputs(*state.executor, *executor.value(), candidate.origin()));
  Result<std::vector<size_t>> match = MatchOutputs(*state.executor, *executor.value(), candidate.origin());
  if (!match.ok()) return match.status();

  std::vector<validate::OutputAccumulator> accumulators;
  for (const TensorInfo& info : state.executor->outputs()) {
    accumulators.emplace_back(info.name, state.data.task, state.has_labels ? &state.labels : nullptr,
                              state.data.labels_path);
    if (state.has_groups) {
      accumulators.back().SetGroups(&state.groups, &state.group_names, state.data.groups_path);
    }
  }
  std::optional<validate::LmAccumulator> lm;
  if (state.lm_output) lm.emplace(state.executor->outputs()[*state.lm_output].name);
  const int64_t total = state.dataset->num_samples();
  const int64_t batch = state.data.batch;
  size_t index = 0;
  for (int64_t first = 0; first < total; first += batch, ++index) {
    const int64_t count = std::min(batch, total - first);
    Result<std::map<std::string, Tensor>> feeds = state.dataset->Batch(first, count);
    if (!feeds.ok()) return feeds.status();
    Result<std::vector<Tensor>> ref = reference_outputs(index, feeds.value());
    if (!ref.ok()) return ref.status();
    Result<std::vector<Tensor>> cand = executor.value()->Run(feeds.value());
    if (!cand.ok()) return cand.status();
    for (size_t o = 0; o < accumulators.size(); ++o) {
      PQ_RETURN_IF_ERROR(accumulators[o].Add((*ref)[o], (*cand)[match.value()[o]], first, count));
    }
    if (lm) {
      const size_t o = *state.lm_output;
      PQ_RETURN_IF_ERROR(lm->Add((*ref)[o], (*cand)[match.value()[o]], feeds->at(state.token_input)));
    }
    if (first == 0 && (state.has_labels || state.has_groups) &&
        std::none_of(accumulators.begin(), accumulators.end(),
                     [](const validate::OutputAccumulator& a) { return a.classification(); })) {
      return Status::InvalidInput((state.has_labels ? state.data.labels_path : state.data.groups_path) +
                                  ": labels or groups given, but no output of " + state.reference->origin() +
                                  " is classifier-like (rank 2, last axis = classes; or pass "
                                  "task classification)");
    }
    if (progress) progress("compare", first + count, total);
  }
  Comparison out;
  out.reference = state.reference->origin();
  out.candidate = candidate.origin();
  out.samples = total;
  out.batch = batch;
  for (const auto& a : accumulators) out.outputs.push_back(a.Finish());
  if (lm) out.lm = lm->Finish();
  out.reference_bytes = state.reference_bytes;
  out.candidate_bytes = ModelBytes(candidate);
  out.size_ratio = out.reference_bytes > 0 ? static_cast<double>(out.candidate_bytes) /
                                                 static_cast<double>(out.reference_bytes)
                                           : 1.0;
  if (state.data.timing_runs > 0 && total > 0) {
    const int64_t count = std::min(batch, total);
    Result<std::map<std::string, Tensor>> feeds = state.dataset->Batch(0, count);
    if (!feeds.ok()) return feeds.status();
    Result<Throughput> reference_speed =
        validate::MeasureThroughput(*state.executor, feeds.value(), count, state.data.timing_runs, state.data.threads);
    if (!reference_speed.ok()) return reference_speed.status();
    Result<Throughput> candidate_speed =
        validate::MeasureThroughput(*executor.value(), feeds.value(), count, state.data.timing_runs, state.data.threads);
    if (!candidate_speed.ok()) return candidate_speed.status();
    out.reference_speed = reference_speed.value();
    out.candidate_speed = candidate_speed.value();
    validate::AddQualityAndCost(&out, state.data.cost_per_hour);
  }
  return out;
}

}  // namespace

Result<TaskKind> ParseTaskKind(const std::string& name) {
  if (name == "auto") return TaskKind::kAuto;
  if (name == "classification") return TaskKind::kClassification;
  if (name == "other") return TaskKind::kOther;
  if (name == "lm") return TaskKind::kLm;
  return Status::InvalidArgument("task '" + name + "' is not one of auto, classification, other, lm");
}

double MinOutputSqnr(const Comparison& comparison) {
  double m = std::numeric_limits<double>::infinity();
  for (const OutputComparison& o : comparison.outputs) m = std::min(m, o.sqnr_db);
  return m;
}

Result<Comparison> Compare(const Model& reference, const Model& candidate,
                           const ValidationData& data, const ProgressFn& progress) {
  Result<std::unique_ptr<State>> state = OpenState(reference, data);
  if (!state.ok()) return state.status();
  const Executor& executor = *state.value()->executor;
  return CompareAgainst(
      *state.value(), candidate,
      [&executor](size_t, const std::map<std::string, Tensor>& feeds) { return executor.Run(feeds); },
      progress);
}

ReferenceRun::ReferenceRun(std::unique_ptr<State> state) : state_(std::move(state)) {}
ReferenceRun::~ReferenceRun() = default;

Result<std::unique_ptr<ReferenceRun>> ReferenceRun::Create(const Model& reference,
                                                           const ValidationData& data,
                                                           const ProgressFn& progress) {
  Result<std::unique_ptr<State>> state = OpenState(reference, data);
  if (!state.ok()) return state.status();
  State& s = *state.value();
  const int64_t total = s.dataset->num_samples();
  for (int64_t first = 0; first < total; first += data.batch) {
    const int64_t count = std::min(data.batch, total - first);
    Result<std::map<std::string, Tensor>> feeds = s.dataset->Batch(first, count);
    if (!feeds.ok()) return feeds.status();
    Result<std::vector<Tensor>> outputs = s.executor->Run(feeds.value());
    if (!outputs.ok()) return outputs.status();
    s.outputs.push_back(std::move(outputs).value());
    if (progress) progress("reference", first + count, total);
  }
  return std::unique_ptr<ReferenceRun>(new ReferenceRun(std::move(state).value()));
}

Result<Comparison> ReferenceRun::Compare(const Model& candidate) const {
  const State& s = *state_;
  return CompareAgainst(
      s, candidate,
      [&s](size_t index, const std::map<std::string, Tensor>&) -> Result<std::vector<Tensor>> {
        return s.outputs.at(index);
      },
      {});
}

const Model& ReferenceRun::reference() const { return *state_->reference; }
const Dataset& ReferenceRun::dataset() const { return *state_->dataset; }
const ValidationData& ReferenceRun::data() const { return state_->data; }

}  // namespace pq
