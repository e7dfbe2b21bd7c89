// GatherND and ScatterND: read or write slices of data addressed by the
// last dim of an index tensor (a tuple of leading coordinates per slice).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"
#include "exec/kernels/movement_common.h"
#include "exec/kernels/scatter_reduction.h"

namespace pq::exec {
namespace {

using movement::Product;

// Where the index tuples of input 1 land in data: element offsets of each
// slice and the slice length. Built by ReadSlices.
struct SliceOffsets {
  std::vector<int64_t> offsets;  // one per index tuple, in tuple order
  int64_t slice = 0;             // elements per slice
};

// Reads index tensor input 1 against `data` with `batch_dims` leading dims
// shared by both. REQUIRES (checked here): data and indices of rank >= 1,
// batch_dims < min(ranks), equal batch dims, the last index dim m in
// [1, rank(data) - batch_dims], every coordinate in [-dim, dim).
Status ReadSlices(const KernelContext& ctx, const Tensor& data, int64_t batch_dims,
                  SliceOffsets* out) {
  const Tensor& indices = ctx.input(1);
  const int64_t r = data.rank(), q = indices.rank();
  if (r < 1 || q < 1) {
    return ctx.Error("data and indices must have rank >= 1, got " + ShapeToString(data.shape()) +
                     " and " + ShapeToString(indices.shape()));
  }
  if (batch_dims < 0 || batch_dims >= std::min(r, q)) {
    return ctx.Error("batch_dims " + std::to_string(batch_dims) + " must be in [0, " +
                     std::to_string(std::min(r, q)) + ")");
  }
  const size_t b = static_cast<size_t>(batch_dims);
  for (size_t d = 0; d < b; ++d) {
    if (data.shape()[d] != indices.shape()[d]) {
      return ctx.Error("batch dims of data " + ShapeToString(data.shape()) + " and indices " +
                       ShapeToString(indices.shape()) + " differ");
    }
  }
  const int64_t m = indices.dim(q - 1);
  if (m < 1 || m > r - batch_dims) {
    return ctx.Error("the last dim of indices " + ShapeToString(indices.shape()) +
                     " must be in [1, " + std::to_string(r - batch_dims) + "]");
  }
  Result<std::vector<int64_t>> coords = ctx.InputAsInts(1);
  if (!coords.ok()) return coords.status();
  const size_t first = b + static_cast<size_t>(m);
  out->slice = Product(data.shape(), first, data.shape().size());
  const std::vector<int64_t> strides = movement::DenseStrides(data.shape());
  const int64_t tuples = Product(indices.shape(), 0, static_cast<size_t>(q - 1));
  const int64_t batches = Product(indices.shape(), 0, b);
  const int64_t per_batch = batches == 0 ? 0 : tuples / batches;
  const int64_t batch_stride = Product(data.shape(), b, data.shape().size());
  out->offsets.resize(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t offset = (t / per_batch) * batch_stride;
    for (int64_t j = 0; j < m; ++j) {
      const size_t d = b + static_cast<size_t>(j);
      const int64_t dim = data.shape()[d];
      int64_t c = coords.value()[static_cast<size_t>(t * m + j)];
      if (c < -dim || c >= dim) {
        return ctx.Error("index " + std::to_string(c) + " is out of range for dim " +
                         std::to_string(d) + " of data " + ShapeToString(data.shape()));
      }
      if (c < 0) c += dim;
      offset += c * strides[d];
    }
    out->offsets[static_cast<size_t>(t)] = offset;
  }
  return Status::OK();
}

// GatherND (opsets 11, 12, 13; batch_dims from 12): output shape
// indices.shape[:-1] + data.shape[batch_dims + m:], each slice copied.
Status GatherND(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const int64_t batch_dims = ctx.opset() >= 12 ? ctx.Int("batch_dims", 0) : 0;
  SliceOffsets slices;
  PQ_RETURN_IF_ERROR(ReadSlices(ctx, data, batch_dims, &slices));
  std::vector<int64_t> shape(indices.shape().begin(), indices.shape().end() - 1);
  const int64_t m = indices.dim(indices.rank() - 1);
  shape.insert(shape.end(), data.shape().begin() + batch_dims + m, data.shape().end());
  Result<Tensor> out = ctx.AllocateUninitialized(data.dtype(), shape);
  if (!out.ok()) return out.status();
  const int64_t element = ExecutorElementSize(data.dtype());
  const int64_t bytes = slices.slice * element;
  const uint8_t* src = static_cast<const uint8_t*>(data.raw());
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (size_t t = 0; t < slices.offsets.size() && bytes > 0; ++t) {
    std::memcpy(dst + static_cast<int64_t>(t) * bytes, src + slices.offsets[t] * element,
                static_cast<size_t>(bytes));
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// ScatterND (opsets 11, 13, 16, 18): a copy of data with each slice of
// updates (shape indices.shape[:-1] + data.shape[m:]) combined into the
// slice its index tuple addresses, tuples in order.
Status ScatterND(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 3));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  ScatterReduction reduction;
  PQ_RETURN_IF_ERROR(ReadScatterReduction(ctx, &reduction));
  if (updates.dtype() != data.dtype()) {
    return ctx.Error("updates must have data's type " + DataTypeName(data.dtype()) + ", got " +
                     DataTypeName(updates.dtype()));
  }
  SliceOffsets slices;
  PQ_RETURN_IF_ERROR(ReadSlices(ctx, data, 0, &slices));
  std::vector<int64_t> expected(indices.shape().begin(), indices.shape().end() - 1);
  const int64_t m = indices.dim(indices.rank() - 1);
  expected.insert(expected.end(), data.shape().begin() + m, data.shape().end());
  if (updates.shape() != expected) {
    return ctx.Error("updates have shape " + ShapeToString(updates.shape()) + ", expected " +
                     ShapeToString(expected));
  }
  Result<Tensor> out = ctx.AllocateUninitialized(data.dtype(), data.shape());
  if (!out.ok()) return out.status();
  const int64_t element = ExecutorElementSize(data.dtype());
  if (data.byte_size() > 0) {
    std::memcpy(out->raw(), data.raw(), static_cast<size_t>(data.byte_size()));
  }
  Tensor* o = &out.value();
  const int64_t n = slices.slice;
  if (reduction == ScatterReduction::kNone) {
    const uint8_t* src = static_cast<const uint8_t*>(updates.raw());
    uint8_t* dst = static_cast<uint8_t*>(o->raw());
    for (size_t t = 0; t < slices.offsets.size() && n > 0; ++t) {
      std::memcpy(dst + slices.offsets[t] * element, src + static_cast<int64_t>(t) * n * element,
                  static_cast<size_t>(n * element));
    }
  } else {
    const bool known = DispatchNumeric(data.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = updates.data<T>();
      T* dst = o->data<T>();
      for (size_t t = 0; t < slices.offsets.size(); ++t) {
        const T* update = src + static_cast<int64_t>(t) * n;
        T* target = dst + slices.offsets[t];
        for (int64_t i = 0; i < n; ++i) ApplyScatter(reduction, update[i], target + i);
      }
    });
    if (!known) return UnsupportedType(ctx, data);
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& ScatterGatherNDKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"GatherND", "", 11, 0, GatherND},
      {"ScatterND", "", 11, 0, ScatterND},
  };
  return kKernels;
}

}  // namespace pq::exec
