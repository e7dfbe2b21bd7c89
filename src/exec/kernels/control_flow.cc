// If and Loop: control flow whose bodies are graph attributes, run through
// KernelContext::subgraphs() (planned once per node by the executor).
// Sequence and optional values are not held by the executor: bodies with
// such inputs or outputs are refused when the executor is created.
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/control_flow_util.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

// The node's body runner, or an error when the node lacks graph attribute
// `attr`.
Result<const SubgraphRunner*> Runner(const KernelContext& ctx, const char* attr) {
  const SubgraphRunner* runner = ctx.subgraphs();
  if (runner == nullptr || runner->Body(attr) == nullptr) {
    return ctx.Error(std::string("the graph attribute '") + attr + "' is missing");
  }
  return runner;
}

// If (opsets 1-19+): runs then_branch or else_branch, as the one-element
// bool `cond` says; both must have as many outputs as the node, of the same
// declared element types.
Status If(KernelContext& ctx) {
  Result<const SubgraphRunner*> then_runner = Runner(ctx, "then_branch");
  if (!then_runner.ok()) return then_runner.status();
  Result<const SubgraphRunner*> else_runner = Runner(ctx, "else_branch");
  if (!else_runner.ok()) return else_runner.status();
  const SubgraphRunner& runner = *then_runner.value();
  const onnx::GraphProto& then_graph = *runner.Body("then_branch");
  const onnx::GraphProto& else_graph = *runner.Body("else_branch");
  for (const auto* branch : {&then_graph, &else_graph}) {
    if (branch->output_size() != ctx.num_outputs()) {
      return ctx.Error(std::string(branch == &then_graph ? "then_branch" : "else_branch") +
                       " has " + std::to_string(branch->output_size()) + " outputs, the node " +
                       std::to_string(ctx.num_outputs()));
    }
  }
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    const int32_t a = then_graph.output(o).type().tensor_type().elem_type();
    const int32_t b = else_graph.output(o).type().tensor_type().elem_type();
    if (a != 0 && b != 0 && a != b) {
      return ctx.Error("output " + std::to_string(o) + " is " + DataTypeName(a) +
                       " in then_branch but " + DataTypeName(b) + " in else_branch");
    }
  }
  if (!ctx.has_input(0)) return ctx.Error("input 0 (cond) is missing");
  Result<bool> cond = ScalarBool(ctx, ctx.input(0), "input 0 (cond)");
  if (!cond.ok()) return cond.status();
  Result<std::vector<Tensor>> outputs = runner.Run(cond.value() ? "then_branch" : "else_branch", {});
  if (!outputs.ok()) return outputs.status();
  for (int o = 0; o < ctx.num_outputs(); ++o) {
    ctx.set_output(o, std::move(outputs.value()[static_cast<size_t>(o)]));
  }
  return Status::OK();
}

// Loop's operands once checked: the trip count (-1 when absent), the initial
// condition, the loop-carried values and the number of scan outputs.
struct LoopSetup {
  int64_t trip_count = -1;
  bool cond = true;
  std::vector<Tensor> carried;
  int scan_outputs = 0;
};

Result<LoopSetup> CheckLoop(const KernelContext& ctx, const onnx::GraphProto& body) {
  LoopSetup setup;
  if (ctx.num_inputs() < 2) return ctx.Error("needs inputs M and cond (either may be empty)");
  const int carried = ctx.num_inputs() - 2;
  if (body.input_size() != carried + 2) {
    return ctx.Error("the body has " + std::to_string(body.input_size()) + " inputs, expected " +
                     std::to_string(carried + 2) + " (iteration number, cond and " +
                     std::to_string(carried) + " loop-carried values)");
  }
  if (body.output_size() < carried + 1) {
    return ctx.Error("the body has " + std::to_string(body.output_size()) +
                     " outputs, expected at least " + std::to_string(carried + 1) +
                     " (cond and the loop-carried values)");
  }
  setup.scan_outputs = body.output_size() - 1 - carried;
  if (ctx.num_outputs() != carried + setup.scan_outputs) {
    return ctx.Error("has " + std::to_string(ctx.num_outputs()) + " outputs, its body gives " +
                     std::to_string(carried + setup.scan_outputs));
  }
  if (ctx.has_input(0)) {
    const Tensor& m = ctx.input(0);
    if (m.size() != 1 || (m.dtype() != kInt64 && m.dtype() != kInt32)) {
      return ctx.Error("input 0 (M) must be one int64, got " + DataTypeName(m.dtype()) + " " +
                       ShapeToString(m.shape()));
    }
    setup.trip_count = m.dtype() == kInt64 ? m.data<int64_t>()[0] : m.data<int32_t>()[0];
    setup.trip_count = setup.trip_count < 0 ? 0 : setup.trip_count;
  }
  if (ctx.has_input(1)) {
    Result<bool> cond = ScalarBool(ctx, ctx.input(1), "input 1 (cond)");
    if (!cond.ok()) return cond.status();
    setup.cond = cond.value();
  }
  for (int k = 0; k < carried; ++k) {
    if (!ctx.has_input(2 + k)) return ctx.Error("loop-carried input " + std::to_string(2 + k) + " is missing");
    setup.carried.push_back(ctx.input(2 + k));
  }
  return setup;
}

// Loop (opsets 1-19+): runs the body while the iteration number is below M
// (when given) and cond holds; scan outputs are stacked along a new axis 0.
// At most SubgraphRunner::max_iterations() iterations, and at most
// MaxLoopHeldBytes() of scan outputs held.
Status Loop(KernelContext& ctx) {
  Result<const SubgraphRunner*> runner_or = Runner(ctx, "body");
  if (!runner_or.ok()) return runner_or.status();
  const SubgraphRunner& runner = *runner_or.value();
  const onnx::GraphProto& body = *runner.Body("body");
  Result<LoopSetup> setup_or = CheckLoop(ctx, body);
  if (!setup_or.ok()) return setup_or.status();
  LoopSetup& setup = setup_or.value();
  const size_t carried = setup.carried.size();
  std::vector<std::vector<Tensor>> scans(static_cast<size_t>(setup.scan_outputs));
  const int64_t limit = runner.max_iterations(), max_bytes = MaxLoopHeldBytes();
  int64_t held_bytes = 0;
  bool cond = setup.cond;
  for (int64_t i = 0; (setup.trip_count < 0 || i < setup.trip_count) && cond; ++i) {
    if (i >= limit) {
      return ctx.Error("did not end within " + std::to_string(limit) +
                       " iterations (the executor's max_loop_iterations; M " +
                       (setup.trip_count < 0 ? std::string("absent") : std::to_string(setup.trip_count)) +
                       ", cond still true)");
    }
    std::vector<Tensor> inputs = {Int64Scalar(i), BoolScalar(cond)};
    inputs.insert(inputs.end(), setup.carried.begin(), setup.carried.end());
    Result<std::vector<Tensor>> outs = runner.Run("body", std::move(inputs));
    if (!outs.ok()) return outs.status();
    std::vector<Tensor>& out = outs.value();
    Result<bool> next = ScalarBool(ctx, out[0], "body output 0 (cond)");
    if (!next.ok()) return next.status();
    cond = next.value();
    for (size_t k = 0; k < carried; ++k) {
      PQ_RETURN_IF_ERROR(CheckSameType(ctx, setup.carried[k], out[1 + k],
                                       "loop-carried value " + std::to_string(k)));
      setup.carried[k] = std::move(out[1 + k]);
    }
    for (size_t j = 0; j < scans.size(); ++j) {
      held_bytes += out[1 + carried + j].byte_size();
      scans[j].push_back(std::move(out[1 + carried + j]));
    }
    if (held_bytes > max_bytes) {
      return ctx.Error("its scan outputs exceed the machine's memory after " + std::to_string(i + 1) +
                       " iterations");
    }
  }
  for (size_t k = 0; k < carried; ++k) ctx.set_output(static_cast<int>(k), std::move(setup.carried[k]));
  for (size_t j = 0; j < scans.size(); ++j) {
    Result<Tensor> stacked =
        scans[j].empty()
            ? EmptyStack(ctx, body.output(static_cast<int>(1 + carried + j)))
            : StackAxis(ctx, scans[j], 0, "scan output " + std::to_string(j));
    if (!stacked.ok()) return stacked.status();
    ctx.set_output(static_cast<int>(carried + j), std::move(stacked).value());
  }
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& ControlFlowKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"If", "", 1, 0, If},
      {"Loop", "", 1, 0, Loop},
  };
  return kKernels;
}

}  // namespace pq::exec
