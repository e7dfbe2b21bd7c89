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
#include "exec/kernel.h"
#include "exec/legacy_opset.h"
#include "exec/plan.h"
#include "exec/value_types.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "pq/data_type.h"

namespace pq {
namespace {

// Kernels read their required inputs and write their first output without
// checking that the node lists them; refuse nodes that do not (or that list
// more outputs than the op has), using the op's
// schema (for opsets newer than the onnx library knows, its newest version of
// the op: no later version made a required input optional). Ops it does not
// know at all are left to their kernels.
Status CheckArity(const onnx::NodeProto& node, int64_t opset, const std::string& where) {
  if (!IsDefaultDomain(node.domain())) return Status::OK();
  const onnx::OpSchema* schema =
      onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opset), "");
  if (schema == nullptr) return Status::OK();
  const auto& formal = schema->inputs();
  for (size_t i = 0; i < formal.size(); ++i) {
    if (formal[i].GetOption() != onnx::OpSchema::Single) continue;
    if (static_cast<int>(i) >= node.input_size() || node.input(static_cast<int>(i)).empty()) {
      return Status::InvalidInput(where + ": required input " + std::to_string(i) + " ('" +
                                  formal[i].GetName() + "') is missing");
    }
  }
  if (node.input_size() < schema->min_input()) {
    return Status::InvalidInput(where + ": has " + std::to_string(node.input_size()) +
                                " inputs, at least " + std::to_string(schema->min_input()) +
                                " needed");
  }
  // Kernels set only the outputs their op has: a node listing more would
  // leave the extra ones undefined.
  if (node.output_size() > schema->max_output()) {
    return Status::InvalidInput(where + ": has " + std::to_string(node.output_size()) +
                                " outputs, the op has at most " +
                                std::to_string(schema->max_output()));
  }
  if (node.output_size() < std::max(schema->min_output(), 1)) {
    return Status::InvalidInput(where + ": has " + std::to_string(node.output_size()) +
                                " outputs, at least " +
                                std::to_string(std::max(schema->min_output(), 1)) + " needed");
  }
  return Status::OK();
}

// Runs one kernel. Kernels check the shapes and attributes they index before
// allocating, so a std::length_error or std::bad_alloc escaping one means a
// size the input asked for and the machine cannot hold: it is refused
// (kInvalidInput) naming the node, as Tensor::Allocate's own limit is, rather
// than reaching the CLI as an internal error.
Status RunKernel(const exec::KernelDef& kernel, exec::KernelContext& ctx) {
  try {
    return kernel.fn(ctx);
  } catch (const std::length_error& e) {
    return Status::InvalidInput(exec::DescribeNode(ctx.node()) +
                                ": a size derived from the inputs is too large (" + e.what() + ")");
  } catch (const std::bad_alloc&) {
    return Status::InvalidInput(exec::DescribeNode(ctx.node()) +
                                ": needs more memory than this machine has");
  }
}

// Rounds the float tensor `t` to float16 or bfloat16 precision in place.
// REQUIRES: t.dtype() == kFloat, and nobody else reads its storage.
void RoundInPlace(exec::OutputRounding rounding, Tensor* t) {
  constexpr int64_t kChunk = 1 << 16;  // elements per task
  const int64_t n = t->size(), chunks = (n + kChunk - 1) / kChunk;
  float* data = t->data<float>();
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t count = std::min(kChunk, n - c * kChunk);
    if (rounding == exec::OutputRounding::kFloat16) {
      RoundToHalfInPlace(data + c * kChunk, count);
    } else {
      RoundToBfloat16InPlace(data + c * kChunk, count);
    }
  }
}

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

// Returns `t` rounded to `rounding`, in a new tensor (`t` is a caller's).
Result<Tensor> RoundedCopy(exec::OutputRounding rounding, const Tensor& t) {
  Result<Tensor> copy = Tensor::AllocateUninitialized(kFloat, t.shape());
  if (!copy.ok()) return copy.status();
  std::copy(t.data<float>(), t.data<float>() + t.size(), copy->data<float>());
  RoundInPlace(rounding, &copy.value());
  return copy;
}

// Gives `out`, output `o` of `step`, the precision of its type
// (step.rounding). A kernel that passed an input through (Identity, Reshape)
// left `out` sharing that input's storage, which must not change: an input
// already of that precision (a rounded value, a graph input or constant of
// that type) is left as it is, any other is copied first. `rounded` is by
// value id (RoundedValues).
Status RoundOutput(const exec::PlanStep& step, size_t o, const exec::KernelContext& ctx,
                   const exec::PlanValues& values, const std::vector<bool>& rounded, Tensor* out) {
  const exec::OutputRounding rounding = step.rounding[o];
  if (rounding == exec::OutputRounding::kNone || out->dtype() != kFloat) return Status::OK();
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i) || ctx.input(i).raw() != out->raw()) continue;
    const size_t id = static_cast<size_t>(step.inputs[static_cast<size_t>(i)]);
    const bool held = (id < rounded.size() && rounded[id]) ||
                      exec::RoundingFor(values.declared_dtypes[id]) == rounding;
    if (held && exec::RoundingFor(values.types[id]) == rounding) return Status::OK();
    Result<Tensor> copy = RoundedCopy(rounding, *out);
    if (!copy.ok()) return copy.status();
    *out = std::move(copy).value();
    return Status::OK();
  }
  RoundInPlace(rounding, out);
  return Status::OK();
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

// True for a Constant node the model already holds as a constant tensor
// (Model::FindConstant); the executor reads it from there, not by a kernel.
bool IsHeldConstant(const Model& model, const onnx::NodeProto& node) {
  return node.op_type() == "Constant" && IsDefaultDomain(node.domain()) &&
         node.output_size() > 0 && model.FindConstant(node.output(0)) != nullptr;
}

// Every op must have a kernel: returns kNotSupported naming the first node
// without one and listing every unsupported domain:op-opset of the model.
Status CheckKernelsExist(const Model& model) {
  std::set<std::string> unsupported;
  std::string first_unsupported;
  for (const auto& node : model.proto().graph().node()) {
    if (IsHeldConstant(model, node)) continue;
    const int64_t opset = model.OpsetVersion(node.domain());
    Status legacy = exec::CheckLegacyOpset(node, opset);
    if (!legacy.ok()) return Status::NotSupported(model.origin() + ": " + legacy.message());
    if (exec::FindKernel(node.domain(), node.op_type(), opset) == nullptr) {
      const std::string domain = DomainName(node.domain());
      unsupported.insert(domain + ":" + node.op_type() + "-" + std::to_string(opset));
      if (first_unsupported.empty()) {
        first_unsupported = exec::DescribeNode(node) + " of domain " + domain + " at opset " +
                            std::to_string(opset);
      }
    }
  }
  if (unsupported.empty()) return Status::OK();
  std::string list;
  for (const std::string& op : unsupported) list += (list.empty() ? "" : ", ") + op;
  return Status::NotSupported(model.origin() + ": " + first_unsupported +
                              " is not supported by pq's executor; unsupported in this model: " +
                              list);
}

// Optional, sequence and map graph inputs and outputs are outside what the
// executor holds: returns kNotSupported naming the first.
Status CheckTensorValues(const onnx::GraphProto& graph, const std::string& origin) {
  for (const auto* list : {&graph.input(), &graph.output()}) {
    for (const auto& value : *list) {
      if (value.type().value_case() != onnx::TypeProto::VALUE_NOT_SET &&
          !value.type().has_tensor_type()) {
        return Status::NotSupported(origin + ": '" + value.name() +
                                    "' is not a tensor (optional, sequence or map values are not "
                                    "supported by pq's executor)");
      }
    }
  }
  return Status::OK();
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

// Returns the node indices of `graph` in topological order (stable: graph
// order among ready nodes), or kInvalidInput if the graph has a cycle.
Result<std::vector<int>> TopologicalOrder(const onnx::GraphProto& graph, const std::string& origin) {
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const auto& o : graph.node(i).output()) {
      if (!o.empty()) producer[o] = i;
    }
  }
  std::vector<std::vector<int>> consumers(static_cast<size_t>(n));
  std::vector<int> pending(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    for (const auto& in : graph.node(i).input()) {
      auto p = producer.find(in);
      if (!in.empty() && p != producer.end()) {
        consumers[static_cast<size_t>(p->second)].push_back(i);
        ++pending[static_cast<size_t>(i)];
      }
    }
  }
  std::set<int> ready;
  for (int i = 0; i < n; ++i) {
    if (pending[static_cast<size_t>(i)] == 0) ready.insert(i);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int c : consumers[static_cast<size_t>(i)]) {
      if (--pending[static_cast<size_t>(c)] == 0) ready.insert(c);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    return Status::InvalidInput(origin + ": the graph has a cycle");
  }
  return order;
}

// One plan step per node of `order` (held constants skipped), with its
// kernel and its value ids in `values`. Errors name the node whose listed
// inputs or outputs do not satisfy its schema.
Result<std::vector<exec::PlanStep>> BuildSteps(const Model& model, const std::vector<int>& order,
                                               exec::PlanValues* values) {
  const onnx::GraphProto& graph = model.proto().graph();
  std::vector<exec::PlanStep> steps;
  for (int i : order) {
    const onnx::NodeProto& node = graph.node(i);
    if (IsHeldConstant(model, node)) continue;  // already a constant tensor
    exec::PlanStep step;
    step.node = &node;
    step.opset = model.OpsetVersion(node.domain());
    step.kernel = exec::FindKernel(node.domain(), node.op_type(), step.opset);
    PQ_RETURN_IF_ERROR(CheckArity(node, step.opset, model.origin() + ": " + exec::DescribeNode(node)));
    for (const auto& in : node.input()) step.inputs.push_back(in.empty() ? -1 : values->Id(in));
    for (const auto& out : node.output()) step.outputs.push_back(out.empty() ? -1 : values->Id(out));
    steps.push_back(std::move(step));
  }
  return steps;
}

// Refuses a graph output that is neither a graph input, an output of a
// step nor a constant the executor holds (an initializer of a type it does
// not read, a name nothing defines): Run could not return it.
Status CheckOutputsAvailable(const exec::PlanValues& values, const std::vector<exec::PlanStep>& steps,
                             const std::vector<int>& input_ids, const std::vector<int>& output_ids,
                             const std::string& origin) {
  std::vector<bool> available(values.names.size(), false);
  for (int id : input_ids) available[static_cast<size_t>(id)] = true;
  for (const exec::PlanStep& step : steps) {
    for (int id : step.outputs) {
      if (id >= 0) available[static_cast<size_t>(id)] = true;
    }
  }
  for (int id : output_ids) {
    const size_t i = static_cast<size_t>(id);
    if (available[i] || values.constants[i].defined()) continue;
    return Status::InvalidInput(origin + ": graph output '" + values.names[i] +
                                "' is not computed by any node and is neither a graph input nor a "
                                "constant pq's executor can read");
  }
  return Status::OK();
}

}  // namespace

struct Executor::Impl {
  const Model* model = nullptr;
  int threads = 1;
  exec::PlanValues values;
  std::vector<int> input_ids;                // graph inputs, as inputs_
  std::vector<int> output_ids;               // graph outputs, as outputs_
  std::vector<exec::PlanStep> steps;         // one per node: what observed runs use
  std::vector<exec::PlanStep> fused_steps;   // Conv epilogues fused: unobserved runs
  std::vector<bool> rounded;                 // by value id: rounded float16/bfloat16 values
};

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
  impl->threads = options.threads > 0 ? options.threads
                                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const onnx::GraphProto& graph = model.proto().graph();
  const std::string& origin = model.origin();
  PQ_RETURN_IF_ERROR(CheckKernelsExist(model));
  PQ_RETURN_IF_ERROR(CheckTensorValues(graph, origin));
  PQ_RETURN_IF_ERROR(LoadConstants(model, &impl->values));

  std::vector<TensorInfo> inputs = GraphInputs(model), outputs = GraphOutputs(model);
  for (const TensorInfo& in : inputs) {
    impl->input_ids.push_back(impl->values.Id(in.name));
    impl->values.declared_dtypes[static_cast<size_t>(impl->input_ids.back())] = in.dtype;
  }
  for (const TensorInfo& out : outputs) impl->output_ids.push_back(impl->values.Id(out.name));

  Result<std::vector<int>> order = TopologicalOrder(graph, origin);
  if (!order.ok()) return order.status();
  Result<std::vector<exec::PlanStep>> steps = BuildSteps(model, order.value(), &impl->values);
  if (!steps.ok()) return steps.status();
  impl->steps = std::move(steps).value();
  PQ_RETURN_IF_ERROR(
      CheckOutputsAvailable(impl->values, impl->steps, impl->input_ids, impl->output_ids, origin));
  impl->values.types = exec::InferValueTypes(graph, impl->values, impl->steps);
  impl->rounded = exec::RoundedValues(impl->values, impl->steps, impl->output_ids,
                                      exec::Float16Rounding::kOnnxRuntimeCpu);

  // Release each intermediate after its last consumer; never graph outputs
  // or constants.
  impl->fused_steps = exec::FuseConvEpilogues(impl->steps, impl->output_ids, &impl->values);
  exec::SetReleases(impl->values, impl->output_ids, &impl->steps);
  exec::SetReleases(impl->values, impl->output_ids, &impl->fused_steps);
  exec::SetRounding(impl->values, impl->rounded, &impl->steps);
  exec::SetRounding(impl->values, impl->rounded, &impl->fused_steps);

  auto executor = std::unique_ptr<Executor>(new Executor(std::move(impl)));
  executor->inputs_ = std::move(inputs);
  executor->outputs_ = std::move(outputs);
  return executor;
}

Result<std::vector<Tensor>> Executor::Run(const std::map<std::string, Tensor>& feeds,
                                          Observer* observer, RunStats* stats) const {
  const Impl& impl = *impl_;
  const std::string& origin = impl.model->origin();
  std::vector<Tensor> values(impl.values.names.size());
  for (const auto& [name, tensor] : feeds) {
    Result<const TensorInfo*> declared = CheckFeed(origin, inputs_, name, tensor);
    if (!declared.ok()) return declared.status();
    const TensorInfo* it = declared.value();
    const int id = impl.values.ids.at(name);
    // A float16 input fed as float takes float16 values, as the model's.
    const exec::OutputRounding rounding = exec::RoundingFor(it->dtype);
    if (rounding != exec::OutputRounding::kNone && tensor.dtype() == kFloat) {
      Result<Tensor> rounded = RoundedCopy(rounding, tensor);
      if (!rounded.ok()) return rounded.status().WithPrefix(origin);
      values[static_cast<size_t>(id)] = std::move(rounded).value();
    } else {
      values[static_cast<size_t>(id)] = tensor;
    }
    if (observer != nullptr) observer->OnTensor(name, values[static_cast<size_t>(id)]);
  }
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (!values[static_cast<size_t>(impl.input_ids[i])].defined()) {
      return Status::InvalidInput(origin + ": input '" + inputs_[i].name + "' was not given");
    }
  }

  int64_t live_bytes = 0, peak_bytes = 0;
  for (const Tensor& v : values) live_bytes += v.defined() ? v.byte_size() : 0;
  peak_bytes = live_bytes;
  // Kernels split their work into thread-count-independent tasks and call
  // Eigen single-threaded (its own GEMM threading would change blocking, and
  // so rounding, with the thread count).
  Eigen::setNbThreads(1);
  omp_set_num_threads(impl.threads);
  // An observer sees every tensor, so observed runs use the unfused plan.
  const std::vector<exec::PlanStep>& steps = observer != nullptr ? impl.steps : impl.fused_steps;
  for (const exec::PlanStep& step : steps) {
    std::vector<const Tensor*> inputs;
    std::vector<int32_t> declared(step.inputs.size(), 0);
    inputs.reserve(step.inputs.size());
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const int id = step.inputs[i];
      if (id >= 0) declared[i] = impl.values.declared_dtypes[static_cast<size_t>(id)];
      if (id < 0) {
        inputs.push_back(nullptr);
      } else if (values[static_cast<size_t>(id)].defined()) {
        inputs.push_back(&values[static_cast<size_t>(id)]);
      } else {
        inputs.push_back(&impl.values.constants[static_cast<size_t>(id)]);
      }
    }
    std::vector<Tensor> outputs(step.outputs.size());
    exec::KernelContext ctx(*step.node, step.opset, std::move(inputs), &outputs, impl.threads,
                            step.fused_relu);
    ctx.set_declared_dtypes(std::move(declared));
    ctx.set_input_types(&step.input_types);
    Status status = RunKernel(*step.kernel, ctx);
    if (!status.ok()) return status.WithPrefix(origin);
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const int id = step.outputs[o];
      if (id < 0) continue;
      if (!outputs[o].defined()) {
        // CheckArity bounds the outputs of ops onnx knows; this is a node
        // listing an output its op does not produce in this configuration
        // (BatchNormalization's running stats outside training, or ops onnx
        // does not know, e.g. Gelu before the onnx library had it).
        return Status::InvalidInput(origin + ": " + exec::DescribeNode(*step.node) + " lists output " +
                                    std::to_string(o) + " ('" + step.node->output(static_cast<int>(o)) +
                                    "'), which the op does not produce here");
      }
      if (!step.rounding.empty()) {
        status = RoundOutput(step, o, ctx, impl.values, impl.rounded, &outputs[o]);
        if (!status.ok()) return status.WithPrefix(origin);
      }
      if (observer != nullptr) observer->OnTensor(impl.values.names[static_cast<size_t>(id)], outputs[o]);
      live_bytes += outputs[o].byte_size();
      values[static_cast<size_t>(id)] = std::move(outputs[o]);
    }
    peak_bytes = std::max(peak_bytes, live_bytes);
    for (int id : step.release) {
      live_bytes -= values[static_cast<size_t>(id)].byte_size();
      values[static_cast<size_t>(id)] = Tensor();
    }
  }

  if (stats != nullptr) stats->peak_activation_bytes = peak_bytes;
  std::vector<Tensor> results;
  for (size_t i = 0; i < impl.output_ids.size(); ++i) {
    const int id = impl.output_ids[i];
    const Tensor& t = values[static_cast<size_t>(id)].defined()
                          ? values[static_cast<size_t>(id)]
                          : impl.values.constants[static_cast<size_t>(id)];
    if (!t.defined()) {
      return Status::Internal(origin + ": output '" + outputs_[i].name + "' was not computed");
    }
    results.push_back(t);
  }
  return results;
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
