#include "exec/graph_run.h"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>

#include "base/body_path.h"
#include "base/float16.h"
#include "exec/kernel.h"
#include "exec/value_types.h"

namespace pq::exec {
namespace {

// Runs one kernel. Kernels check the shapes and attributes they index before
// allocating, so a std::length_error or std::bad_alloc escaping one means a
// size the input asked for and the machine cannot hold: it is refused
// (kInvalidInput) naming the node, as Tensor::Allocate's own limit is, rather
// than reaching the CLI as an internal error.
Status RunKernel(const KernelDef& kernel, KernelContext& ctx) {
  try {
    return kernel.fn(ctx);
  } catch (const std::length_error& e) {
    return Status::InvalidInput(DescribeNode(ctx.node()) +
                                ": a size derived from the inputs is too large (" + e.what() + ")");
  } catch (const std::bad_alloc&) {
    return Status::InvalidInput(DescribeNode(ctx.node()) +
                                ": needs more memory than this machine has");
  }
}

// Rounds the float tensor `t` to float16 or bfloat16 precision in place.
// REQUIRES: t.dtype() == kFloat, and nobody else reads its storage.
void RoundInPlace(OutputRounding rounding, Tensor* t) {
  constexpr int64_t kChunk = 1 << 16;  // elements per task
  const int64_t n = t->size(), chunks = (n + kChunk - 1) / kChunk;
  float* data = t->data<float>();
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t count = std::min(kChunk, n - c * kChunk);
    if (rounding == OutputRounding::kFloat16) {
      RoundToHalfInPlace(data + c * kChunk, count);
    } else {
      RoundToBfloat16InPlace(data + c * kChunk, count);
    }
  }
}

// Gives `out`, output `o` of `step`, the precision of its type
// (step.rounding). A kernel that passed an input through (Identity, Reshape)
// left `out` sharing that input's storage, which must not change: an input
// already of that precision (a rounded value, a graph input or constant of
// that type) is left as it is, any other is copied first. `rounded` is by
// value id (RoundedValues).
Status RoundOutput(const PlanStep& step, size_t o, const KernelContext& ctx,
                   const PlanValues& values, const std::vector<bool>& rounded, Tensor* out) {
  const OutputRounding rounding = step.rounding[o];
  if (rounding == OutputRounding::kNone || out->dtype() != kFloat) return Status::OK();
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i) || ctx.input(i).raw() != out->raw()) continue;
    const size_t id = static_cast<size_t>(step.inputs[static_cast<size_t>(i)]);
    const bool held = (id < rounded.size() && rounded[id]) ||
                      RoundingFor(values.declared_dtypes[id]) == rounding;
    if (held && RoundingFor(values.types[id]) == rounding) return Status::OK();
    Result<Tensor> copy = RoundedCopy(rounding, *out);
    if (!copy.ok()) return copy.status();
    *out = std::move(copy).value();
    return Status::OK();
  }
  RoundInPlace(rounding, out);
  return Status::OK();
}

// The value `id` of a running graph: computed or fed, else its constant.
const Tensor& ValueOf(const GraphPlan& plan, const std::vector<Tensor>& values, int id) {
  const size_t i = static_cast<size_t>(id);
  return values[i].defined() ? values[i] : plan.values.constants[i];
}

Status RunScoped(const GraphPlan& plan, const std::vector<PlanStep>& steps, size_t begin, size_t end,
                 const RunEnv& env, Observer* observer, const std::string& scope, std::vector<Tensor>* values,
                 int64_t* peak_bytes);

// The position of `node` among `graph`'s nodes; -1 when it is not one.
int NodeIndex(const onnx::GraphProto* graph, const onnx::NodeProto* node) {
  if (graph == nullptr) return -1;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (&graph->node(i) == node) return i;
  }
  return -1;
}

// The SubgraphRunner of one control-flow step during one run of its
// enclosing graph (named `scope`, body_path.h): it binds each body's captures
// to the enclosing values, and shows the body's inputs, the enclosing values
// it reads and its computed values to `observer` (may be null) under their
// scoped names. Holds references only; lives for the kernel call.
class BodyRunner : public SubgraphRunner {
 public:
  BodyRunner(const PlanStep& step, const GraphPlan& outer, const std::vector<Tensor>& outer_values,
             const RunEnv& env, Observer* observer, const std::string& scope)
      : step_(step), outer_(outer), outer_values_(outer_values), env_(env), observer_(observer), scope_(scope) {}

  const onnx::GraphProto* Body(const std::string& attr) const override {
    const PlanBody* body = Find(attr);
    return body != nullptr ? body->plan->graph : nullptr;
  }

  int64_t max_iterations() const override { return env_.max_loop_iterations; }

  Result<std::vector<Tensor>> Run(const std::string& attr, std::vector<Tensor> inputs) const override {
    const PlanBody* body = Find(attr);
    const std::string where = DescribeNode(*step_.node) + ", body '" + attr + "'";
    if (body == nullptr) return Status::InvalidInput(where + ": the node has no such attribute");
    const GraphPlan& plan = *body->plan;
    if (inputs.size() != plan.input_ids.size()) {
      return Status::InvalidInput(where + ": the body has " + std::to_string(plan.input_ids.size()) +
                                  " inputs, the op gives it " + std::to_string(inputs.size()));
    }
    std::vector<Tensor> values(plan.values.names.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      values[static_cast<size_t>(plan.input_ids[i])] = std::move(inputs[i]);
    }
    for (size_t i = 0; i < plan.capture_ids.size(); ++i) {
      values[static_cast<size_t>(plan.capture_ids[i])] =
          ValueOf(outer_, outer_values_, body->outer_ids[i]);
    }
    std::string path;
    if (observer_ != nullptr) {
      path = BodyPath(scope_, *step_.node, NodeIndex(outer_.graph, step_.node), attr);
      for (const std::vector<int>* ids : {&plan.input_ids, &plan.capture_ids}) {
        for (int id : *ids) {
          const Tensor& v = values[static_cast<size_t>(id)];
          if (v.defined()) observer_->OnTensor(ScopedValueName(path, plan.values.names[static_cast<size_t>(id)]), v);
        }
      }
    }
    Status status = RunScoped(plan, plan.steps, 0, plan.steps.size(), env_, observer_, path, &values, nullptr);
    if (!status.ok()) return status.WithPrefix(where);
    std::vector<Tensor> outputs;
    for (int id : plan.output_ids) {
      outputs.push_back(ValueOf(plan, values, id));
      if (!outputs.back().defined()) {
        return Status::InvalidInput(where + ": output '" + plan.values.names[static_cast<size_t>(id)] +
                                    "' has no value");
      }
    }
    return outputs;
  }

 private:
  const PlanBody* Find(const std::string& attr) const {
    for (const PlanBody& body : step_.bodies) {
      if (body.attr == attr) return &body;
    }
    return nullptr;
  }

  const PlanStep& step_;
  const GraphPlan& outer_;
  const std::vector<Tensor>& outer_values_;
  const RunEnv& env_;
  Observer* const observer_;
  const std::string& scope_;
};

}  // namespace

Result<Tensor> RoundedCopy(OutputRounding rounding, const Tensor& t) {
  Result<Tensor> copy = Tensor::AllocateUninitialized(kFloat, t.shape());
  if (!copy.ok()) return copy.status();
  std::copy(t.data<float>(), t.data<float>() + t.size(), copy->data<float>());
  RoundInPlace(rounding, &copy.value());
  return copy;
}

Status RunSteps(const GraphPlan& plan, const std::vector<PlanStep>& steps, const RunEnv& env,
                Observer* observer, std::vector<Tensor>* values, int64_t* peak_bytes) {
  return RunStepRange(plan, steps, 0, steps.size(), env, observer, values, peak_bytes);
}

Status RunStepRange(const GraphPlan& plan, const std::vector<PlanStep>& steps, size_t begin, size_t end,
                    const RunEnv& env, Observer* observer, std::vector<Tensor>* values, int64_t* peak_bytes) {
  return RunScoped(plan, steps, begin, end, env, observer, "", values, peak_bytes);
}

namespace {

// RunStepRange for the graph named `scope` (body_path.h; "" for the main
// graph), whose values `observer` sees under their scoped names.
Status RunScoped(const GraphPlan& plan, const std::vector<PlanStep>& steps, size_t begin, size_t end,
                 const RunEnv& env, Observer* observer, const std::string& scope, std::vector<Tensor>* values,
                 int64_t* peak_bytes) {
  std::vector<Tensor>& vals = *values;
  int64_t live_bytes = 0, peak = 0;
  for (const Tensor& v : vals) live_bytes += v.defined() ? v.byte_size() : 0;
  peak = live_bytes;
  for (size_t s = begin; s < end; ++s) {
    const PlanStep& step = steps[s];
    std::vector<const Tensor*> inputs;
    std::vector<int32_t> declared(step.inputs.size(), 0);
    std::vector<bool> constant(step.inputs.size(), false);
    inputs.reserve(step.inputs.size());
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const int id = step.inputs[i];
      if (id >= 0) {
        const size_t v = static_cast<size_t>(id);
        declared[i] = plan.values.declared_dtypes[v];
        constant[i] = !vals[v].defined() && plan.values.constants[v].defined();
      }
      inputs.push_back(id < 0 ? nullptr : &ValueOf(plan, vals, id));
    }
    std::vector<Tensor> outputs(step.outputs.size());
    KernelContext ctx(*step.node, step.opset, std::move(inputs), &outputs, env.threads,
                      step.fused_relu);
    ctx.set_declared_dtypes(std::move(declared));
    ctx.set_constant_inputs(std::move(constant));
    ctx.set_input_types(&step.input_types);
    BodyRunner runner(step, plan, vals, env,
                      observer != nullptr && observer->ObservesBodies() ? observer : nullptr, scope);
    if (!step.bodies.empty()) ctx.set_subgraphs(&runner);
    PQ_RETURN_IF_ERROR(RunKernel(*step.kernel, ctx));
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const int id = step.outputs[o];
      if (id < 0) continue;
      if (!outputs[o].defined()) {
        // CheckArity bounds the outputs of ops onnx knows; this is a node
        // listing an output its op does not produce in this configuration
        // (BatchNormalization's running stats outside training, or ops onnx
        // does not know, e.g. Gelu before the onnx library had it).
        return Status::InvalidInput(DescribeNode(*step.node) + " lists output " + std::to_string(o) +
                                    " ('" + step.node->output(static_cast<int>(o)) +
                                    "'), which the op does not produce here");
      }
      if (!step.rounding.empty()) {
        PQ_RETURN_IF_ERROR(RoundOutput(step, o, ctx, plan.values, plan.rounded, &outputs[o]));
      }
      if (observer != nullptr) {
        const std::string& name = plan.values.names[static_cast<size_t>(id)];
        observer->OnTensor(scope.empty() ? name : ScopedValueName(scope, name), outputs[o]);
      }
      live_bytes += outputs[o].byte_size();
      vals[static_cast<size_t>(id)] = std::move(outputs[o]);
    }
    peak = std::max(peak, live_bytes);
    for (int id : step.release) {
      live_bytes -= vals[static_cast<size_t>(id)].byte_size();
      vals[static_cast<size_t>(id)] = Tensor();
    }
  }
  if (peak_bytes != nullptr) *peak_bytes = peak;
  return Status::OK();
}

}  // namespace

}  // namespace pq::exec
