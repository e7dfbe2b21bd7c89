// The `reduction` attribute of ScatterND and ScatterElements: how an update
// is combined with the element it lands on. Shared by scatter_gather_nd.cc
// and scatter_elements.cc.
#ifndef PQ_EXEC_KERNELS_SCATTER_REDUCTION_H_
#define PQ_EXEC_KERNELS_SCATTER_REDUCTION_H_

#include <string>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_math.h"

namespace pq::exec {

enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

// Reads `reduction` for the node's opset: absent before 16 (only "none" is
// accepted), none/add/mul from 16, max/min as well from 18. Errors name the
// node and the value.
inline Status ReadScatterReduction(const KernelContext& ctx, ScatterReduction* out) {
  const std::string r = ctx.String("reduction", "none");
  const int64_t opset = ctx.opset();
  if (r == "none") {
    *out = ScatterReduction::kNone;
  } else if ((r == "add" || r == "mul") && opset >= 16) {
    *out = r == "add" ? ScatterReduction::kAdd : ScatterReduction::kMul;
  } else if ((r == "max" || r == "min") && opset >= 18) {
    *out = r == "max" ? ScatterReduction::kMax : ScatterReduction::kMin;
  } else {
    return ctx.Error("reduction '" + r + "' is not defined at opset " + std::to_string(opset));
  }
  return Status::OK();
}

// Combines update `v` into `*dst` (integers wrap; max/min propagate NaN).
template <typename T>
void ApplyScatter(ScatterReduction r, T v, T* dst) {
  switch (r) {
    case ScatterReduction::kNone: *dst = v; break;
    case ScatterReduction::kAdd: *dst = WrapAdd(*dst, v); break;
    case ScatterReduction::kMul: *dst = WrapMul(*dst, v); break;
    case ScatterReduction::kMax: *dst = MaxPropagateNan(*dst, v); break;
    case ScatterReduction::kMin: *dst = MinPropagateNan(*dst, v); break;
  }
}

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_SCATTER_REDUCTION_H_
