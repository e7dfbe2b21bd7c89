// Running a planned graph (graph_plan.h): the steps of the main graph for
// Executor::Run, and a control-flow node's bodies for its kernel, through
// KernelContext::subgraphs().
#ifndef PQ_EXEC_GRAPH_RUN_H_
#define PQ_EXEC_GRAPH_RUN_H_

#include <cstdint>
#include <vector>

#include "exec/plan.h"
#include "pq/executor.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq::exec {

// What every graph of one run shares.
struct RunEnv {
  int threads = 1;
  int64_t max_loop_iterations = 0;  // ExecutorOptions::max_loop_iterations
};

// Returns `t` rounded to `rounding`, in a new tensor (`t` is a caller's).
// REQUIRES: t.dtype() == kFloat.
Result<Tensor> RoundedCopy(OutputRounding rounding, const Tensor& t);

// Runs `steps` (plan.steps or a fusion of them) over `values`, which holds
// a tensor by value id of plan.values: the graph inputs and captures must be
// set; constants are read from plan.values. Each step's outputs are stored,
// rounded (step.rounding) and shown to `observer` (may be null), and its
// releases dropped. Bodies of control-flow steps run with the values of
// `values` they capture; an `observer` that ObservesBodies() sees their
// inputs, captures and computed values under scoped names (ScopedValueName,
// base/body_path.h). `peak_bytes`, if not null, receives the largest total
// size of `values` alive at once (bodies not counted).
// Errors are a kernel's, not prefixed with the model's origin.
Status RunSteps(const GraphPlan& plan, const std::vector<PlanStep>& steps, const RunEnv& env,
                Observer* observer, std::vector<Tensor>* values, int64_t* peak_bytes);

// RunSteps over steps[begin, end) only. REQUIRES: begin <= end <= steps.size().
Status RunStepRange(const GraphPlan& plan, const std::vector<PlanStep>& steps, size_t begin, size_t end,
                    const RunEnv& env, Observer* observer, std::vector<Tensor>* values, int64_t* peak_bytes);

}  // namespace pq::exec

#endif  // PQ_EXEC_GRAPH_RUN_H_
