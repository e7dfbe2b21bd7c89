// The executor's plan of a graph: its values (by id) and the kernel calls
// that produce them, in execution order. Built by Executor::Create; fusion
// (conv_fusion.cc) derives a shorter plan from it.
#ifndef PQ_EXEC_PLAN_H_
#define PQ_EXEC_PLAN_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "exec/kernel.h"
#include "onnx/onnx_pb.h"
#include "pq/tensor.h"

namespace pq::exec {

// How the executor rounds a float output after its kernel ran: float16 and
// bfloat16 values are held as float and rounded to their type's precision
// (ties to even), as a runtime that stores them in that type does.
enum class OutputRounding : uint8_t { kNone, kFloat16, kBfloat16 };

// The values of a graph, numbered: names, and the constant tensors.
struct PlanValues {
  std::vector<std::string> names;
  std::unordered_map<std::string, int> ids;
  std::vector<Tensor> constants;  // by value id; undefined if not constant
  // By value id: the element type the model declares for constants and
  // graph inputs (before the executor widens or unpacks it); 0 otherwise.
  std::vector<int32_t> declared_dtypes;
  // By value id: the element type of every value, declared or implied by its
  // node (InferValueTypes, value_types.h); 0 if unknown.
  std::vector<int32_t> types;

  // The id of `name`, numbering it on first sight.
  int Id(const std::string& name);
};

struct GraphPlan;

// A graph attribute of a control-flow node (If's branches, Loop's and Scan's
// body), planned once when the executor is created and run by the node's
// kernel through KernelContext::subgraphs() (graph_run.h).
struct PlanBody {
  std::string attr;                       // the attribute's name ("then_branch", "body")
  std::shared_ptr<const GraphPlan> plan;  // shared: fusion copies steps
  // Value ids, in the enclosing plan, of plan->capture_ids (same order): the
  // outer-scope values the body reads by name.
  std::vector<int> outer_ids;
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
  // By input: its element type (values.types; KernelContext::input_type).
  std::vector<int32_t> input_types;
  // By output: how its values are rounded once the kernel ran (SetRounding);
  // empty when no output needs it, as in every float32 model.
  std::vector<OutputRounding> rounding;
  // Control-flow nodes only: the node's planned bodies, and the union of
  // their outer_ids. Captured values count as inputs of this step for
  // ordering, release and fusion.
  std::vector<PlanBody> bodies;
  std::vector<int> captures;
};

// A planned graph: the model's main graph or a control-flow node's body.
// Values are numbered per graph; a body reads outer-scope values through its
// capture_ids, which the running body gets from its enclosing graph's values
// (PlanBody::outer_ids).
struct GraphPlan {
  const onnx::GraphProto* graph = nullptr;  // owned by the model
  PlanValues values;
  std::vector<int> input_ids;    // graph inputs fed by the caller, in order
  std::vector<int> capture_ids;  // outer-scope names read (bodies only)
  std::vector<int> output_ids;   // graph outputs, in order
  std::vector<PlanStep> steps;   // execution order, every node
  std::vector<bool> rounded;     // by value id: rounded float16/bfloat16 values
};

// Fills each step's `input_types` from values.types and its `rounding`: for
// an output whose value is `rounded` (by value id; RoundedValues,
// float16_placement.h), the rounding of its type (values.types); none for the
// others.
void SetRounding(const PlanValues& values, const std::vector<bool>& rounded,
                 std::vector<PlanStep>* steps);

// Fills each step's `release` with the values it is the last consumer of
// (as an input or a capture), except `keep` (graph outputs) and constants.
void SetReleases(const PlanValues& values, const std::vector<int>& keep,
                 std::vector<PlanStep>* steps);

// Returns `steps` with every Conv followed by a BatchNormalization with
// constant parameters folded into new constant weights and bias (added to
// `values`), and a following Relu fused into the Conv's epilogue. A value is
// fused away only when it has one consumer and is not in `keep` (graph
// outputs). Releases are left empty. The fused plan does not produce the
// fused-away values, so it is only for runs that observe no tensors. A Conv
// whose output is float16 or bfloat16 (values.types) is not fused: the
// values it would skip are rounded.
std::vector<PlanStep> FuseConvEpilogues(const std::vector<PlanStep>& steps,
                                        const std::vector<int>& keep, PlanValues* values);

}  // namespace pq::exec

#endif  // PQ_EXEC_PLAN_H_
