// The ONNX element type of every value of a plan, so that the executor, which
// holds float16 and bfloat16 values as float, can round them to their type's
// precision after each kernel (as ONNX Runtime stores them).
#ifndef PQ_EXEC_VALUE_TYPES_H_
#define PQ_EXEC_VALUE_TYPES_H_

#include <cstdint>
#include <vector>

#include "exec/plan.h"
#include "onnx/onnx_pb.h"

namespace pq::exec {

// Returns, by value id of `values`, the element type of each value: the type
// the graph declares for it (values.declared_dtypes for constants and graph
// inputs; value_info and graph outputs), else the type its node gives it,
// propagated through `steps` (REQUIRES: topological order). A node's outputs
// take the type of its first floating-point input unless the op says
// otherwise (Cast `to`, CastLike, Where, ConstantOfShape, dtype attributes,
// integer and bool results, the float32 statistics of the layer norms).
// 0 where nothing tells the type.
std::vector<int32_t> InferValueTypes(const onnx::GraphProto& graph, const PlanValues& values,
                                     const std::vector<PlanStep>& steps);

// The rounding that gives a value of element type `dtype`, held as float,
// its precision.
OutputRounding RoundingFor(int32_t dtype);

}  // namespace pq::exec

#endif  // PQ_EXEC_VALUE_TYPES_H_
