// The TopK kernel: the k largest (or smallest, opset 11+) elements along an
// axis and their int64 indices; k is an attribute before opset 10 and an
// input after. Equal values keep the lower index first; NaN ranks above
// every number. Output is always sorted.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace movement {
namespace {

// Strict "a ranks above b" for largest-first order, NaN highest.
template <typename T>
bool RanksAbove(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

Status TopK(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  int64_t k;
  if (ctx.opset() < 10) {
    k = ctx.Int("k", -1);
  } else {
    Result<std::vector<int64_t>> kv = ctx.InputAsInts(1);
    if (!kv.ok()) return kv.status();
    if (kv->size() != 1) return ctx.Error("K must hold one value, holds " + std::to_string(kv->size()));
    k = kv->front();
  }
  const int64_t raw_axis = ctx.Int("axis", -1);
  int64_t axis;
  if (!NormalizeAxis(raw_axis, in.rank(), &axis)) {
    return ctx.Error(AxisError(raw_axis, in.rank()));
  }
  const int64_t dim = in.dim(axis);
  if (k < 0 || k > dim) {
    return ctx.Error("k " + std::to_string(k) + " is outside [0, " + std::to_string(dim) +
                     "] for axis " + std::to_string(axis) + " of " + ShapeToString(in.shape()));
  }
  const bool largest = ctx.opset() < 11 || ctx.Int("largest", 1) != 0;
  std::vector<int64_t> shape = in.shape();
  shape[static_cast<size_t>(axis)] = k;
  Result<Tensor> values = ctx.Allocate(in.dtype(), shape);
  if (!values.ok()) return values.status();
  Result<Tensor> indices = ctx.Allocate(kInt64, shape);
  if (!indices.ok()) return indices.status();
  const int64_t outer = Product(in.shape(), 0, static_cast<size_t>(axis));
  const int64_t inner = Product(in.shape(), static_cast<size_t>(axis) + 1, in.shape().size());
  const bool typed = ForNumericType(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = in.data<T>();
    T* out_values = values->template data<T>();
    int64_t* out_indices = indices->template data<int64_t>();
    std::vector<int64_t> order(static_cast<size_t>(dim));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const T* row = src + o * dim * inner + i;
        auto before = [&](int64_t a, int64_t b) {
          const T va = row[a * inner], vb = row[b * inner];
          if (largest ? RanksAbove(va, vb) : RanksAbove(vb, va)) return true;
          if (largest ? RanksAbove(vb, va) : RanksAbove(va, vb)) return false;
          return a < b;
        };
        std::iota(order.begin(), order.end(), int64_t{0});
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          const int64_t at = (o * k + j) * inner + i;
          out_values[at] = row[order[static_cast<size_t>(j)] * inner];
          out_indices[at] = order[static_cast<size_t>(j)];
        }
      }
    }
  });
  if (!typed) return ctx.Unsupported("TopK of this type");
  ctx.set_output(0, std::move(values).value());
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(indices).value());
  return Status::OK();
}

}  // namespace
}  // namespace movement

const std::vector<KernelDef>& TopKKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"TopK", "", 1, 0, movement::TopK},
  };
  return kKernels;
}

}  // namespace pq::exec
