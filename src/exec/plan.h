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
};

// Fills each step's `input_types` from values.types and its `rounding`: for
// an output whose value is `rounded` (by value id; RoundedValues,
// float16_placement.h), the rounding of its type (values.types); none for the
// others.
void SetRounding(const PlanValues& values, const std::vector<bool>& rounded,
                 std::vector<PlanStep>* steps);

// Fills each step's `release` with the values it is the last consumer of,
// except `keep` (graph outputs) and constants.
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
