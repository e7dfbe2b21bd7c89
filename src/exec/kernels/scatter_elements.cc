// ScatterElements (and its opset 9-10 name, Scatter): a copy of data with
// each element of updates combined into the element that its index in
// `indices` addresses along one axis.
#include <cstring>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"
#include "exec/kernels/movement_common.h"
#include "exec/kernels/scatter_reduction.h"

namespace pq::exec {
namespace {

// Inputs data, indices and updates; attributes axis (default 0) and, from
// opset 16, reduction. indices has data's rank and no larger dim off the
// axis, updates has indices' shape and data's type, every index is in
// [-dim, dim) of the axis. Output: data's shape and type.
Status ScatterElements(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 3));
  const Tensor& data = ctx.input(0);
  const Tensor& index_tensor = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  ScatterReduction reduction;
  PQ_RETURN_IF_ERROR(ReadScatterReduction(ctx, &reduction));
  const int64_t rank = data.rank();
  int64_t axis;
  const int64_t raw_axis = ctx.Int("axis", 0);
  if (rank < 1) return ctx.Error("data must have rank >= 1, got a scalar");
  if (!movement::NormalizeAxis(raw_axis, rank, &axis)) {
    return ctx.Error(movement::AxisError(raw_axis, rank));
  }
  bool fits = index_tensor.rank() == rank;
  for (int64_t d = 0; fits && d < rank; ++d) {
    fits = d == axis || index_tensor.dim(d) <= data.dim(d);
  }
  if (!fits) {
    return ctx.Error("indices " + ShapeToString(index_tensor.shape()) +
                     " must have the rank of data " + ShapeToString(data.shape()) +
                     " and no larger dims off the axis");
  }
  if (updates.shape() != index_tensor.shape() || updates.dtype() != data.dtype()) {
    return ctx.Error("updates (" + DataTypeName(updates.dtype()) + " " +
                     ShapeToString(updates.shape()) + ") must have the shape of indices " +
                     ShapeToString(index_tensor.shape()) + " and the type of data (" +
                     DataTypeName(data.dtype()) + ")");
  }
  Result<std::vector<int64_t>> indices = ctx.InputAsInts(1);
  if (!indices.ok()) return indices.status();
  const int64_t dim = data.dim(axis);
  for (int64_t& idx : indices.value()) {
    if (idx < -dim || idx >= dim) {
      return ctx.Error("index " + std::to_string(idx) + " is out of range for axis " +
                       std::to_string(axis) + " of size " + std::to_string(dim));
    }
    if (idx < 0) idx += dim;
  }
  // Destination offset of each update, axis coordinate excluded, walked
  // like a counter over indices' shape.
  const std::vector<int64_t> strides = movement::DenseStrides(data.shape());
  const std::vector<int64_t>& shape = index_tensor.shape();
  std::vector<int64_t> targets(static_cast<size_t>(updates.size()));
  std::vector<int64_t> counter(shape.size(), 0);
  int64_t base = 0;
  for (int64_t i = 0; i < updates.size(); ++i) {
    targets[static_cast<size_t>(i)] =
        base + indices.value()[static_cast<size_t>(i)] * strides[static_cast<size_t>(axis)];
    for (size_t d = shape.size(); d-- > 0;) {
      const int64_t step = static_cast<int64_t>(d) == axis ? 0 : strides[d];
      base += step;
      if (++counter[d] < shape[d]) break;
      base -= step * shape[d];
      counter[d] = 0;
    }
  }
  Result<Tensor> out = ctx.AllocateUninitialized(data.dtype(), data.shape());
  if (!out.ok()) return out.status();
  if (data.byte_size() > 0) {
    std::memcpy(out->raw(), data.raw(), static_cast<size_t>(data.byte_size()));
  }
  Tensor* o = &out.value();
  if (reduction == ScatterReduction::kNone) {
    movement::ForElementSize(ExecutorElementSize(data.dtype()), [&](auto tag) {
      using U = decltype(tag);
      const U* src = updates.data<U>();
      U* dst = o->template data<U>();
      for (size_t i = 0; i < targets.size(); ++i) dst[targets[i]] = src[i];
    });
  } else {
    const bool known = DispatchNumeric(data.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = updates.data<T>();
      T* dst = o->data<T>();
      for (size_t i = 0; i < targets.size(); ++i) ApplyScatter(reduction, src[i], dst + targets[i]);
    });
    if (!known) return UnsupportedType(ctx, data);
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& ScatterElementsKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Scatter", "", 9, 10, ScatterElements},
      {"ScatterElements", "", 11, 0, ScatterElements},
  };
  return kKernels;
}

}  // namespace pq::exec
