#include "pq/executor.h"

#include <algorithm>
#include <new>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <Eigen/Core>
#include <omp.h>

#include "base/float16.h"
#include "base/onnx_domain.h"
#include "exec/float16_placement.h"
#include "exec/graph_plan.h"
#include "exec/graph_run.h"
#include "exec/kernel.h"
#include "exec/plan.h"
#include "exec/value_types.h"
#include "onnx/onnx_pb.h"
#include "pq/data_type.h"

namespace pq {
namespace {

// The graph input `name` of `inputs` that `tensor` is fed to, after checking
// that the model has it and that the tensor has its element type and shape
// (dims < 0 match any size). Errors (kInvalidInput) name the input.
Result<const TensorInfo*> CheckFeed(const std::string& origin, const std::vector<TensorInfo>& inputs,
                                    const std::string& name, const Tensor& tensor) {
  auto it = std::find_if(inputs.begin(), inputs.end(),
                         [&name](const TensorInfo& info) { return info.name == name; });
  if (it == inputs.end()) {
    std::string names;
    for (const auto& info : inputs) names += (names.empty() ? "" : ", ") + info.name;
    return Status::InvalidInput(origin + ": the model has no input '" + name +
                                "' (its inputs: " + names + ")");
  }
  const int32_t want = ExecutorFeedType(it->dtype);
  if (it->dtype != 0 && tensor.dtype() != want) {
    return Status::InvalidInput(origin + ": input '" + name + "' must be " +
                                DataTypeName(it->dtype) + ", got " + DataTypeName(tensor.dtype()));
  }
  if (it->has_shape) {
    bool matches = tensor.rank() == static_cast<int64_t>(it->dims.size());
    for (size_t d = 0; matches && d < it->dims.size(); ++d) {
      matches = it->dims[d] < 0 || it->dims[d] == tensor.shape()[d];
    }
    if (!matches) {
      std::string expected = "[";
      for (size_t d = 0; d < it->dims.size(); ++d) {
        expected += (d ? ", " : "") + (it->dims[d] >= 0 ? std::to_string(it->dims[d])
                                       : (it->dim_names[d].empty() ? "?" : it->dim_names[d]));
      }
      return Status::InvalidInput(origin + ": input '" + name + "' must have shape " + expected +
                                  "], got " + ShapeToString(tensor.shape()));
    }
  }
  return &*it;
}

TensorInfo InfoOf(const onnx::ValueInfoProto& v) {
  TensorInfo info;
  info.name = v.name();
  if (!v.type().has_tensor_type()) return info;
  const auto& tt = v.type().tensor_type();
  info.dtype = tt.elem_type();
  if (!tt.has_shape()) return info;
  info.has_shape = true;
  for (const auto& d : tt.shape().dim()) {
    info.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    info.dim_names.push_back(d.has_dim_param() ? d.dim_param() : "");
  }
  return info;
}

// Reads the model's constants (initializers and Constant nodes) into
// `values` as executor tensors. Strings, and types the executor does not
// hold, stay unread (a node that uses them fails in its kernel).
Status LoadConstants(const Model& model, exec::PlanValues* values) {
  for (const ConstantTensor& c : model.constants()) {
    if (c.data == nullptr && c.byte_size > 0) continue;
    if (c.data_type == onnx::TensorProto::STRING) continue;
    // Weights the executor holds as they are stored are read in place (the
    // model outlives the executor): no second copy of a large model.
    const bool as_stored = c.data_type == ExecutorFeedType(c.data_type) &&
                           c.byte_size == c.element_count * ExecutorElementSize(c.data_type);
    if (as_stored) {
      Tensor view = Tensor::Borrowed(c.data_type, c.dims, c.data);
      if (view.defined()) {
        const int id = values->Id(c.name);
        values->constants[static_cast<size_t>(id)] = std::move(view);
        values->declared_dtypes[static_cast<size_t>(id)] = c.data_type;
        continue;
      }
    }
    Result<Tensor> t = TensorFromBytes(c.data_type, c.dims, c.data, c.byte_size,
                                       model.origin() + ": tensor '" + c.name + "'");
    if (!t.ok()) {
      if (t.status().code() == Status::Code::kNotSupported) continue;  // unused types stay unread
      return t.status();
    }
    const int id = values->Id(c.name);
    values->constants[static_cast<size_t>(id)] = std::move(t).value();
    values->declared_dtypes[static_cast<size_t>(id)] = c.data_type;
  }
  return Status::OK();
}

}  // namespace

struct Executor::Impl {
  const Model* model = nullptr;
  exec::RunEnv env;
  // The main graph: input_ids as inputs_, output_ids as outputs_, steps one
  // per node (what observed runs use); control-flow steps hold their bodies.
  exec::GraphPlan main;
  std::vector<exec::PlanStep> fused_steps;   // Conv epilogues fused: unobserved runs
  // By step of main.steps: the node index it runs (ObservedStepNodes).
  std::vector<int> step_nodes;
  // By value id of main.values: the last step of main.steps that reads it
  // (as an input or a capture), -1 if none.
  std::vector<int> last_reader;
};

namespace {

// Stores `feeds` in `values` (by value id) after checking them against the
// executor's `inputs` (CheckFeed), rounding float feeds of float16/bfloat16
// inputs, and shows each to `observer` (may be null). Errors name the input.
Status SetFeeds(const exec::GraphPlan& main, const std::string& origin, const std::vector<TensorInfo>& inputs,
                const std::map<std::string, Tensor>& feeds, Observer* observer, std::vector<Tensor>* values) {
  for (const auto& [name, tensor] : feeds) {
    Result<const TensorInfo*> declared = CheckFeed(origin, inputs, name, tensor);
    if (!declared.ok()) return declared.status();
    const TensorInfo* it = declared.value();
    const size_t id = static_cast<size_t>(main.values.ids.at(name));
    // A float16 input fed as float takes float16 values, as the model's.
    const exec::OutputRounding rounding = exec::RoundingFor(it->dtype);
    if (rounding != exec::OutputRounding::kNone && tensor.dtype() == kFloat) {
      Result<Tensor> rounded = exec::RoundedCopy(rounding, tensor);
      if (!rounded.ok()) return rounded.status().WithPrefix(origin);
      (*values)[id] = std::move(rounded).value();
    } else {
      (*values)[id] = tensor;
    }
    if (observer != nullptr) observer->OnTensor(name, (*values)[id]);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!(*values)[static_cast<size_t>(main.input_ids[i])].defined()) {
      return Status::InvalidInput(origin + ": input '" + inputs[i].name + "' was not given");
    }
  }
  return Status::OK();
}

// The step index that last reads each value of `plan` (-1 if none).
std::vector<int> LastReaders(const exec::GraphPlan& plan) {
  std::vector<int> last(plan.values.names.size(), -1);
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    for (const std::vector<int>* ids : {&plan.steps[s].inputs, &plan.steps[s].captures}) {
      for (int id : *ids) {
        if (id >= 0) last[static_cast<size_t>(id)] = static_cast<int>(s);
      }
    }
  }
  return last;
}

// Fails (kInvalidArgument) when a step of [begin, end) reads a value that is
// neither a constant, in `values`, nor produced by an earlier step of the range.
Status CheckPieceInputs(const exec::GraphPlan& plan, size_t begin, size_t end, const std::vector<Tensor>& values,
                        const std::string& origin) {
  std::vector<bool> available(values.size());
  for (size_t id = 0; id < values.size(); ++id) {
    available[id] = values[id].defined() || plan.values.constants[id].defined();
  }
  for (size_t s = begin; s < end; ++s) {
    const exec::PlanStep& step = plan.steps[s];
    for (const std::vector<int>* ids : {&step.inputs, &step.captures}) {
      for (int id : *ids) {
        if (id < 0 || available[static_cast<size_t>(id)]) continue;
        return Status::InvalidArgument(origin + ": " + exec::DescribeNode(*step.node) + " reads '" +
                                       plan.values.names[static_cast<size_t>(id)] +
                                       "', which this piece of the run was not given");
      }
    }
    for (int id : step.outputs) {
      if (id >= 0) available[static_cast<size_t>(id)] = true;
    }
  }
  return Status::OK();
}

}  // namespace

Executor::Executor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Executor::~Executor() = default;

std::vector<TensorInfo> Executor::GraphInputs(const Model& model) {
  const onnx::GraphProto& graph = model.proto().graph();
  std::set<std::string> initializer_names;
  for (const auto& init : graph.initializer()) initializer_names.insert(init.name());
  std::vector<TensorInfo> inputs;
  for (const auto& in : graph.input()) {
    if (initializer_names.count(in.name()) == 0) inputs.push_back(InfoOf(in));
  }
  return inputs;
}

std::vector<TensorInfo> Executor::GraphOutputs(const Model& model) {
  std::vector<TensorInfo> outputs;
  for (const auto& out : model.proto().graph().output()) outputs.push_back(InfoOf(out));
  return outputs;
}

Result<std::unique_ptr<Executor>> Executor::Create(const Model& model,
                                                   const ExecutorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->model = &model;
  impl->env.threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (options.max_loop_iterations < 1) {
    return Status::InvalidInput("ExecutorOptions::max_loop_iterations must be at least 1, got " +
                                std::to_string(options.max_loop_iterations));
  }
  impl->env.max_loop_iterations = options.max_loop_iterations;
  const onnx::GraphProto& graph = model.proto().graph();
  const std::string& origin = model.origin();
  exec::GraphPlan& main = impl->main;
  main.graph = &graph;
  PQ_RETURN_IF_ERROR(exec::CheckKernelsExist(model, graph, true));
  PQ_RETURN_IF_ERROR(exec::CheckTensorValues(graph, origin));
  PQ_RETURN_IF_ERROR(LoadConstants(model, &main.values));

  std::vector<TensorInfo> inputs = GraphInputs(model), outputs = GraphOutputs(model);
  for (const TensorInfo& in : inputs) {
    main.input_ids.push_back(main.values.Id(in.name));
    main.values.declared_dtypes[static_cast<size_t>(main.input_ids.back())] = in.dtype;
  }
  for (const TensorInfo& out : outputs) main.output_ids.push_back(main.values.Id(out.name));

  Result<std::vector<int>> order = exec::TopologicalOrder(graph, origin);
  if (!order.ok()) return order.status();
  Result<std::vector<exec::PlanStep>> steps =
      exec::BuildSteps(model, graph, order.value(), true, origin, &main.values);
  if (!steps.ok()) return steps.status();
  main.steps = std::move(steps).value();
  PQ_RETURN_IF_ERROR(
      exec::CheckValuesAvailable(main.values, main.steps, main.input_ids, main.output_ids, origin));
  main.values.types = exec::InferValueTypes(graph, main.values, main.steps);
  main.rounded = exec::RoundedValues(main.values, main.steps, main.output_ids,
                                     exec::Float16Rounding::kOnnxRuntimeCpu);

  // Release each intermediate after its last consumer; never graph outputs
  // or constants.
  impl->fused_steps = exec::FuseConvEpilogues(main.steps, main.output_ids, &main.values);
  exec::SetReleases(main.values, main.output_ids, &main.steps);
  exec::SetReleases(main.values, main.output_ids, &impl->fused_steps);
  exec::SetRounding(main.values, main.rounded, &main.steps);
  exec::SetRounding(main.values, main.rounded, &impl->fused_steps);

  std::unordered_map<const onnx::NodeProto*, int> node_index;
  for (int n = 0; n < graph.node_size(); ++n) node_index[&graph.node(n)] = n;
  for (const exec::PlanStep& step : main.steps) impl->step_nodes.push_back(node_index.at(step.node));
  impl->last_reader = LastReaders(main);

  auto executor = std::unique_ptr<Executor>(new Executor(std::move(impl)));
  executor->inputs_ = std::move(inputs);
  executor->outputs_ = std::move(outputs);
  return executor;
}

Result<std::vector<Tensor>> Executor::Run(const std::map<std::string, Tensor>& feeds,
                                          Observer* observer, RunStats* stats) const {
  const Impl& impl = *impl_;
  const exec::GraphPlan& main = impl.main;
  const std::string& origin = impl.model->origin();
  std::vector<Tensor> values(main.values.names.size());
  PQ_RETURN_IF_ERROR(SetFeeds(main, origin, inputs_, feeds, observer, &values));

  // Kernels split their work into thread-count-independent tasks and call
  // Eigen single-threaded (its own GEMM threading would change blocking, and
  // so rounding, with the thread count).
  Eigen::setNbThreads(1);
  omp_set_num_threads(impl.env.threads);
  // An observer sees every tensor, so observed runs use the unfused plan.
  const std::vector<exec::PlanStep>& steps = observer != nullptr ? main.steps : impl.fused_steps;
  int64_t peak_bytes = 0;
  Status status = exec::RunSteps(main, steps, impl.env, observer, &values, &peak_bytes);
  if (!status.ok()) return status.WithPrefix(origin);

  if (stats != nullptr) stats->peak_activation_bytes = peak_bytes;
  std::vector<Tensor> results;
  for (size_t i = 0; i < main.output_ids.size(); ++i) {
    const int id = main.output_ids[i];
    const Tensor& t = values[static_cast<size_t>(id)].defined()
                          ? values[static_cast<size_t>(id)]
                          : main.values.constants[static_cast<size_t>(id)];
    if (!t.defined()) {
      return Status::Internal(origin + ": output '" + outputs_[i].name + "' was not computed");
    }
    results.push_back(t);
  }
  return results;
}

const std::vector<int>& Executor::ObservedStepNodes() const { return impl_->step_nodes; }

Result<std::map<std::string, Tensor>> Executor::RunPiece(std::map<std::string, Tensor> live, size_t begin,
                                                         size_t end, Observer* observer) const {
  const Impl& impl = *impl_;
  const exec::GraphPlan& main = impl.main;
  const std::string& origin = impl.model->origin();
  if (begin > end || end > main.steps.size()) {
    return Status::InvalidArgument(origin + ": steps [" + std::to_string(begin) + ", " + std::to_string(end) +
                                   ") are outside the run's " + std::to_string(main.steps.size()) + " steps");
  }
  std::vector<Tensor> values(main.values.names.size());
  if (begin == 0) {
    PQ_RETURN_IF_ERROR(SetFeeds(main, origin, inputs_, live, observer, &values));
  } else {
    for (auto& [name, tensor] : live) {
      auto id = main.values.ids.find(name);
      if (id == main.values.ids.end()) {
        return Status::InvalidArgument(origin + ": '" + name + "' is not a value of the run");
      }
      if (observer != nullptr) observer->OnTensor(name, tensor);
      values[static_cast<size_t>(id->second)] = std::move(tensor);
    }
  }
  live.clear();
  PQ_RETURN_IF_ERROR(CheckPieceInputs(main, begin, end, values, origin));
  Eigen::setNbThreads(1);  // as Run: kernels thread themselves
  omp_set_num_threads(impl.env.threads);
  Status status = exec::RunStepRange(main, main.steps, begin, end, impl.env, observer, &values, nullptr);
  if (!status.ok()) return status.WithPrefix(origin);
  std::map<std::string, Tensor> kept;
  for (size_t id = 0; id < values.size(); ++id) {
    if (values[id].defined() && impl.last_reader[id] >= static_cast<int>(end)) {
      kept.emplace(main.values.names[id], std::move(values[id]));
    }
  }
  return kept;
}

std::vector<std::string> SupportedOps() {
  std::vector<std::string> out;
  for (const exec::KernelDef& def : exec::AllKernels()) {
    std::string domain = DomainName(def.domain);
    out.push_back(domain + ":" + def.op_type + "[" + std::to_string(def.since_version) + "-" +
                  (def.until_version == 0 ? std::string("") : std::to_string(def.until_version)) +
                  "]");
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pq
