// The executor's plan of a graph: its values (by id) and the kernel calls
// that produce them, in execution order. Built by Executor::Create; fusion
// (conv_fusion.cc) derives a shorter plan from it.
#ifndef PQ_EXEC_PLAN_H_
#define PQ_EXEC_PLAN_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "exec/kernel.h"
#include "onnx/onnx_pb.h"
#include "pq/tensor.h"

namespace pq::exec {

// The values of a graph, numbered: names, and the constant tensors.
struct PlanValues {
  std::vector<std::string> names;
  std::unordered_map<std::string, int> ids;
  std::vector<Tensor> constants;  // by value id; undefined if not constant
  // By value id: the element type the model declares for constants and
  // graph inputs (before the executor widens or unpacks it); 0 otherwise.
  std::vector<int32_t> declared_dtypes;

  // The id of `name`, numbering it on first sight.
  int Id(const std::string& name);
};

// One kernel call.
struct PlanStep {
  const onnx::NodeProto* node;  // the node whose kernel runs (and errors name)
  const KernelDef* kernel;
  int64_t opset;
  std::vector<int> inputs;   // value ids; -1 for a missing optional input
  std::vector<int> outputs;  // value ids; -1 for an unused output
  std::vector<int> release;  // value ids whose last consumer is this step
  bool fused_relu = false;   // see KernelContext::fused_relu()
};

// Fills each step's `release` with the values it is the last consumer of,
// except `keep` (graph outputs) and constants.
void SetReleases(const PlanValues& values, const std::vector<int>& keep,
                 std::vector<PlanStep>* steps);

// Returns `steps` with every Conv followed by a BatchNormalization with
// constant parameters folded into new constant weights and bias (added to
// `values`), and a following Relu fused into the Conv's epilogue. A value is
// fused away only when it has one consumer and is not in `keep` (graph
// outputs). Releases are left empty. The fused plan does not produce the
// fused-away values, so it is only for runs that observe no tensors.
std::vector<PlanStep> FuseConvEpilogues(const std::vector<PlanStep>& steps,
                                        const std::vector<int>& keep, PlanValues* values);

}  // namespace pq::exec

#endif  // PQ_EXEC_PLAN_H_
