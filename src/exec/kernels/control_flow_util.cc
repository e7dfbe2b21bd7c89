#include "exec/kernels/control_flow_util.h"

#include <unistd.h>

#include <cstring>

#include "pq/data_type.h"

namespace pq::exec {

Result<Tensor> SliceAxis(const KernelContext& ctx, const Tensor& t, int64_t axis, int64_t index) {
  std::vector<int64_t> shape = t.shape();
  const int64_t count = shape[static_cast<size_t>(axis)];
  shape.erase(shape.begin() + axis);
  Result<Tensor> out = ctx.AllocateUninitialized(t.dtype(), shape);
  if (!out.ok()) return out.status();
  int64_t outer = 1, inner = ExecutorElementSize(t.dtype());
  for (int64_t d = 0; d < axis; ++d) outer *= t.dim(d);
  for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t o = 0; o < outer; ++o) {
    if (inner > 0) {
      std::memcpy(dst + o * inner, src + (o * count + index) * inner, static_cast<size_t>(inner));
    }
  }
  return out;
}

Result<Tensor> StackAxis(const KernelContext& ctx, const std::vector<Tensor>& parts, int64_t axis,
                         const std::string& what) {
  const Tensor& first = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].dtype() != first.dtype() || parts[i].shape() != first.shape()) {
      return ctx.Error(what + " is " + DataTypeName(parts[i].dtype()) + " " +
                       ShapeToString(parts[i].shape()) + " at iteration " + std::to_string(i) +
                       " but " + DataTypeName(first.dtype()) + " " + ShapeToString(first.shape()) +
                       " at iteration 0");
    }
  }
  std::vector<int64_t> shape = first.shape();
  const int64_t count = static_cast<int64_t>(parts.size());
  shape.insert(shape.begin() + axis, count);
  Result<Tensor> out = ctx.AllocateUninitialized(first.dtype(), shape);
  if (!out.ok()) return out.status();
  int64_t outer = 1, inner = ExecutorElementSize(first.dtype());
  for (int64_t d = 0; d < axis; ++d) outer *= first.dim(d);
  for (int64_t d = axis; d < first.rank(); ++d) inner *= first.dim(d);
  auto* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < count; ++i) {
      const auto* src = static_cast<const uint8_t*>(parts[static_cast<size_t>(i)].raw());
      if (inner > 0) {
        std::memcpy(dst + (o * count + i) * inner, src + o * inner, static_cast<size_t>(inner));
      }
    }
  }
  return out;
}

Result<Tensor> EmptyStack(const KernelContext& ctx, const onnx::ValueInfoProto& value) {
  const auto& type = value.type().tensor_type();
  const int32_t dtype = type.elem_type() != 0 ? ExecutorFeedType(type.elem_type()) : kFloat;
  std::vector<int64_t> shape = {0};
  bool known = type.has_shape();
  for (const auto& d : type.shape().dim()) known = known && d.has_dim_value();
  if (known) {
    for (const auto& d : type.shape().dim()) shape.push_back(d.dim_value());
  }
  return ctx.Allocate(dtype, shape);
}

Result<bool> ScalarBool(const KernelContext& ctx, const Tensor& t, const std::string& what) {
  if (!t.defined() || t.dtype() != kBool || t.size() != 1) {
    return ctx.Error(what + " must be one bool, got " +
                     (t.defined() ? DataTypeName(t.dtype()) + " " + ShapeToString(t.shape())
                                  : std::string("no value")));
  }
  return t.data<uint8_t>()[0] != 0;
}

Tensor Int64Scalar(int64_t v) {
  Tensor t = Tensor::AllocateUninitialized(kInt64, {}).value();
  t.data<int64_t>()[0] = v;
  return t;
}

Tensor BoolScalar(bool v) {
  Tensor t = Tensor::AllocateUninitialized(kBool, {}).value();
  t.data<uint8_t>()[0] = v ? 1 : 0;
  return t;
}

Status CheckSameType(const KernelContext& ctx, const Tensor& before, const Tensor& now,
                     const std::string& what) {
  if (now.dtype() == before.dtype()) return Status::OK();
  return ctx.Error(what + " changes type from " + DataTypeName(before.dtype()) + " to " +
                   DataTypeName(now.dtype()) + " between iterations");
}

int64_t MaxLoopHeldBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return INT64_MAX;
  return static_cast<int64_t>(pages) * page_size;
}

}  // namespace pq::exec
