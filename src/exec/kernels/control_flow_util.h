// What the control-flow kernels (control_flow.cc: If, Loop; scan.cc: Scan)
// share: slicing a tensor along an axis, stacking per-iteration tensors
// along a new axis, and the checks on what a body returns.
#ifndef PQ_EXEC_KERNELS_CONTROL_FLOW_UTIL_H_
#define PQ_EXEC_KERNELS_CONTROL_FLOW_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"

namespace pq::exec {

// `t` at `index` of `axis`, that axis removed (a copy).
// REQUIRES: 0 <= axis < t.rank(), 0 <= index < t.dim(axis).
Result<Tensor> SliceAxis(const KernelContext& ctx, const Tensor& t, int64_t axis, int64_t index);

// The tensors of `parts` stacked along a new axis `axis` (0..rank of a part):
// part i is at index i of that axis. Errors (naming the node and `what`) if
// the parts differ in element type or shape. REQUIRES: !parts.empty().
Result<Tensor> StackAxis(const KernelContext& ctx, const std::vector<Tensor>& parts, int64_t axis,
                         const std::string& what);

// An empty stacked output for a loop that ran no iteration: [0] followed by
// the dims `value` (a body output) declares when all are known, of its
// declared element type (float if undeclared).
Result<Tensor> EmptyStack(const KernelContext& ctx, const onnx::ValueInfoProto& value);

// The one element of bool tensor `t`, or an error naming `what`.
Result<bool> ScalarBool(const KernelContext& ctx, const Tensor& t, const std::string& what);

// Scalar (shape []) tensors of one int64 and of one bool.
Tensor Int64Scalar(int64_t v);
Tensor BoolScalar(bool v);

// Errors unless `now` has the element type of `before` (a loop-carried or
// state value between iterations); `what` names it.
Status CheckSameType(const KernelContext& ctx, const Tensor& before, const Tensor& now,
                     const std::string& what);

// The most bytes of per-iteration outputs a loop may hold before stacking
// them: the machine's physical memory, as Tensor::Allocate's limit.
int64_t MaxLoopHeldBytes();

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_CONTROL_FLOW_UTIL_H_
