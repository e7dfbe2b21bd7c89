// Where the executor rounds float16 values. pq holds float16 (and bfloat16)
// values as float; rounding them after the kernels that produce them is what
// gives a float16 model float16 results.
//
// ONNX Runtime's CPU provider, the runtime pq is compared with, does not round
// every float16 value: ops without a float16 CPU kernel (MatMul, Add, Mul,
// Softmax, Sigmoid, ... on x86-64) run in float32 between Casts that it
// inserts, and it then removes each back-to-back Cast pair to float16 and back
// (RemoveDuplicateCastTransformer treats float -> float16 as lossless), so a
// chain of such ops passes float32 values along. Values are rounded only where
// they are stored as float16: outputs of ops with a float16 kernel
// (data movement, the layer norms, GroupQueryAttention, RotaryEmbedding,
// MatMulNBits, ...), inputs of those ops (but a Cast: that pair of Casts goes
// too), and graph outputs. It also runs an
// op that has a float16 kernel in float32 when it sits between float32 ops
// (the "isolated float16 node" rule of its InsertCastTransformer).
#ifndef PQ_EXEC_FLOAT16_PLACEMENT_H_
#define PQ_EXEC_FLOAT16_PLACEMENT_H_

#include <string>
#include <vector>

#include "exec/plan.h"

namespace pq::exec {

// Where the executor rounds float16 values (bfloat16 values are rounded after
// every kernel under either).
enum class Float16Rounding {
  // Where ONNX Runtime's CPU provider stores them as float16 (above): what
  // the executor does.
  kOnnxRuntimeCpu,
  // Every float16 value after every kernel, as a runtime with float16
  // kernels for every op would (the ONNX types read literally). Against ORT
  // on the tiny_llm float16 copies this is further off than not rounding at
  // all (measured: logits 6.1e-4 and 4.1e-4 relative L2, optimum and genai).
  kEveryValue,
};

// True for the ops ONNX Runtime's CPU provider runs with float16 data
// (rather than in float32 between inserted Casts). Measured with
// onnxruntime-node 1.30 on x86-64 (one-node float16 models, optimizations
// disabled: whether ORT inserted Casts around the node).
bool HasOrtCpuFloat16Kernel(const std::string& op_type);

// Returns, by value id of `values` (whose `types` are set), whether the
// executor rounds the value once the step producing it ran: under
// kEveryValue every float16 and bfloat16 value; under kOnnxRuntimeCpu the
// float16 values ONNX Runtime's CPU provider stores as float16 (see above)
// and every bfloat16 value. `steps` are in execution order (unfused);
// `graph_outputs` are value ids.
std::vector<bool> RoundedValues(const PlanValues& values, const std::vector<PlanStep>& steps,
                                const std::vector<int>& graph_outputs, Float16Rounding mode);

}  // namespace pq::exec

#endif  // PQ_EXEC_FLOAT16_PLACEMENT_H_
