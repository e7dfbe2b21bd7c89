// Gather and GatherElements: select elements of data by an index tensor
// along one axis. They move bytes, so they serve every executor dtype
// through the element size.
#include <cstring>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace {

using movement::AxisError;
using movement::DenseStrides;
using movement::NormalizeAxis;
using movement::Product;

// Reads index input `i` and resolves negative indices against `dim`.
// Errors name the first index outside [-dim, dim).
Result<std::vector<int64_t>> ReadIndices(const KernelContext& ctx, int i, int64_t dim,
                                         int64_t axis) {
  Result<std::vector<int64_t>> indices = ctx.InputAsInts(i);
  if (!indices.ok()) return indices.status();
  for (int64_t& idx : indices.value()) {
    if (idx < -dim || idx >= dim) {
      return ctx.Error("index " + std::to_string(idx) + " is out of range for axis " +
                       std::to_string(axis) + " of size " + std::to_string(dim));
    }
    if (idx < 0) idx += dim;
  }
  return indices;
}

// Requires inputs data and indices and resolves the `axis` attribute
// (default 0) against data's rank into `*axis`.
Status ResolveAxis(const KernelContext& ctx, int64_t* axis) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const int64_t raw_axis = ctx.Int("axis", 0);
  const int64_t rank = ctx.input(0).rank();
  if (!NormalizeAxis(raw_axis, rank, axis)) return ctx.Error(AxisError(raw_axis, rank));
  return Status::OK();
}

// Gather: data[..., indices[...], ...] along `axis`.
Status Gather(KernelContext& ctx) {
  int64_t axis;
  PQ_RETURN_IF_ERROR(ResolveAxis(ctx, &axis));
  const Tensor& data = ctx.input(0);
  const Tensor& index_tensor = ctx.input(1);
  const int64_t dim = data.dim(axis);
  Result<std::vector<int64_t>> indices = ReadIndices(ctx, 1, dim, axis);
  if (!indices.ok()) return indices.status();
  std::vector<int64_t> shape(data.shape().begin(), data.shape().begin() + axis);
  shape.insert(shape.end(), index_tensor.shape().begin(), index_tensor.shape().end());
  shape.insert(shape.end(), data.shape().begin() + axis + 1, data.shape().end());
  Result<Tensor> out = ctx.Allocate(data.dtype(), shape);
  if (!out.ok()) return out.status();
  const int64_t outer = Product(data.shape(), 0, static_cast<size_t>(axis));
  const int64_t inner = Product(data.shape(), static_cast<size_t>(axis) + 1, data.shape().size()) *
                        ExecutorElementSize(data.dtype());
  const int64_t n = static_cast<int64_t>(indices->size());
  const uint8_t* src = static_cast<const uint8_t*>(data.raw());
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  if (inner > 0) {
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        std::memcpy(dst + (o * n + j) * inner, src + (o * dim + indices.value()[static_cast<size_t>(j)]) * inner,
                    static_cast<size_t>(inner));
      }
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// GatherElements: out[i..] = data[i.. with i[axis] = indices[i..]].
Status GatherElements(KernelContext& ctx) {
  int64_t axis;
  PQ_RETURN_IF_ERROR(ResolveAxis(ctx, &axis));
  const Tensor& data = ctx.input(0);
  const Tensor& index_tensor = ctx.input(1);
  bool fits = index_tensor.rank() == data.rank();
  for (int64_t d = 0; fits && d < data.rank(); ++d) {
    fits = d == axis || index_tensor.dim(d) <= data.dim(d);
  }
  if (!fits) {
    return ctx.Error("indices " + ShapeToString(index_tensor.shape()) +
                     " must have the rank of data " + ShapeToString(data.shape()) +
                     " and no larger dims off the axis");
  }
  Result<std::vector<int64_t>> indices = ReadIndices(ctx, 1, data.dim(axis), axis);
  if (!indices.ok()) return indices.status();
  Result<Tensor> out = ctx.Allocate(data.dtype(), index_tensor.shape());
  if (!out.ok()) return out.status();
  const std::vector<int64_t> strides = DenseStrides(data.shape());
  const std::vector<int64_t>& shape = index_tensor.shape();
  movement::ForElementSize(ExecutorElementSize(data.dtype()), [&](auto tag) {
    using U = decltype(tag);
    const U* src = data.data<U>();
    U* dst = out->template data<U>();
    std::vector<int64_t> counter(shape.size(), 0);
    int64_t base = 0;  // source offset of the counter, axis excluded
    for (int64_t i = 0; i < out->size(); ++i) {
      dst[i] = src[base + indices.value()[static_cast<size_t>(i)] * strides[static_cast<size_t>(axis)]];
      for (size_t d = shape.size(); d-- > 0;) {
        const int64_t step = static_cast<int64_t>(d) == axis ? 0 : strides[d];
        base += step;
        if (++counter[d] < shape[d]) break;
        base -= step * shape[d];
        counter[d] = 0;
      }
    }
  });
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& GatherKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Gather", "", 1, 0, Gather},
      {"GatherElements", "", 11, 0, GatherElements},
  };
  return kKernels;
}

}  // namespace pq::exec
