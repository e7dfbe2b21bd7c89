// CumSum: running sums along one axis, optionally exclusive (each element
// sums the ones before it) and reversed (sums run from the end).
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_math.h"
#include "exec/kernels/elementwise_util.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace {

// Writes the running sums of `x` along `axis` into `y` (same shape).
// outer/dim/inner: the products of the dims before, at and after the axis.
template <typename T>
void RunningSums(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, bool exclusive,
                 bool reverse) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * dim * inner + i;
      T sum{0};
      for (int64_t step = 0; step < dim; ++step) {
        const int64_t j = reverse ? dim - 1 - step : step;
        const int64_t at = base + j * inner;
        if (exclusive) {
          y[at] = sum;
          sum = WrapAdd(sum, x[at]);
        } else {
          sum = WrapAdd(sum, x[at]);
          y[at] = sum;
        }
      }
    }
  }
}

// CumSum (opsets 11, 14): input 0 x (float, int32 or int64 here), input 1
// a one-element int32/int64 axis in [-rank, rank); attributes exclusive and
// reverse (0 or 1, default 0). Output: x's shape and type.
Status CumSum(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 1) return ctx.Error("input must have rank >= 1, got a scalar");
  Result<std::vector<int64_t>> axes = ctx.InputAsInts(1);
  if (!axes.ok()) return axes.status();
  if (axes->size() != 1) {
    return ctx.Error("axis must hold one value, got shape " + ShapeToString(ctx.input(1).shape()));
  }
  int64_t axis;
  if (!movement::NormalizeAxis(axes.value()[0], x.rank(), &axis)) {
    return ctx.Error(movement::AxisError(axes.value()[0], x.rank()));
  }
  const int64_t exclusive = ctx.Int("exclusive", 0);
  const int64_t reverse = ctx.Int("reverse", 0);
  if ((exclusive != 0 && exclusive != 1) || (reverse != 0 && reverse != 1)) {
    return ctx.Error("exclusive and reverse must be 0 or 1, got " + std::to_string(exclusive) +
                     " and " + std::to_string(reverse));
  }
  if (x.dtype() != kFloat && x.dtype() != kInt32 && x.dtype() != kInt64) {
    return UnsupportedType(ctx, x);
  }
  Result<Tensor> out = ctx.AllocateUninitialized(x.dtype(), x.shape());
  if (!out.ok()) return out.status();
  const size_t a = static_cast<size_t>(axis);
  const int64_t outer = movement::Product(x.shape(), 0, a);
  const int64_t inner = movement::Product(x.shape(), a + 1, x.shape().size());
  Tensor* y = &out.value();
  DispatchNumeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    RunningSums<T>(x.data<T>(), y->data<T>(), outer, x.dim(axis), inner, exclusive == 1,
                   reverse == 1);
  });
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& CumSumKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"CumSum", "", 11, 0, CumSum},
  };
  return kKernels;
}

}  // namespace pq::exec
