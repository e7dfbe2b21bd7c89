// Shape kernels of pq's executor: ops that compute or change a shape without
// reordering elements (Reshape, Flatten, Squeeze, Unsqueeze share the input's
// storage), ops that read a shape (Shape, Size), and ops that make tensors
// from shapes or attributes (Expand, ConstantOfShape, Range, Constant).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "exec/broadcast.h"
#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"
#include "pq/data_type.h"
#include "pq/tensor_proto_io.h"

namespace pq::exec {
namespace {

using movement::NormalizeAxis;
using movement::Product;


// Reads axes from the `axes` attribute before opset `input_since`, else from
// input 1 (missing -> empty).
Result<std::vector<int64_t>> AxesAttrOrInput(const KernelContext& ctx, int64_t input_since) {
  if (ctx.opset() < input_since) return ctx.Ints("axes");
  if (!ctx.has_input(1)) return std::vector<int64_t>{};
  return ctx.InputAsInts(1);
}

// Reshape: `shape` (attribute before opset 5, input after); 0 copies the
// input's dim unless allowzero (opset 14+), one -1 is inferred.
Status Reshape(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  std::vector<int64_t> shape;
  if (ctx.opset() < 5) {
    shape = ctx.Ints("shape");
  } else {
    Result<std::vector<int64_t>> s = ctx.InputAsInts(1);
    if (!s.ok()) return s.status();
    shape = std::move(s).value();
  }
  const bool allow_zero = ctx.opset() >= 14 && ctx.Int("allowzero", 0) != 0;
  int infer = -1;
  bool has_zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) return ctx.Error("shape " + ShapeToString(shape) + " has more than one -1");
      infer = static_cast<int>(i);
    } else if (shape[i] == 0 && !allow_zero) {
      if (static_cast<int64_t>(i) >= in.rank()) {
        return ctx.Error("shape " + ShapeToString(shape) + " copies dim " + std::to_string(i) +
                         " (0) of an input of rank " + std::to_string(in.rank()));
      }
      shape[i] = in.dim(static_cast<int64_t>(i));
    } else if (shape[i] < 0) {
      return ctx.Error("shape " + ShapeToString(shape) + " has a negative dim other than -1");
    } else if (shape[i] == 0) {
      has_zero = true;
    }
  }
  if (has_zero && infer >= 0) {
    return ctx.Error("shape " + ShapeToString(shape) + " has both 0 and -1 with allowzero=1");
  }
  if (infer >= 0) {
    int64_t known = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (static_cast<int>(i) != infer) known = movement::CheckedMul(known, shape[i]);
    }
    if (known <= 0 || in.size() % known != 0) {
      return ctx.Error("cannot infer the -1 in shape " + ShapeToString(shape) + " for input " +
                       ShapeToString(in.shape()));
    }
    shape[static_cast<size_t>(infer)] = in.size() / known;
  }
  std::optional<int64_t> count = CheckedElementCount(shape);
  if (!count || *count != in.size()) {
    return ctx.Error("element counts differ: input " + ShapeToString(in.shape()) +
                     " cannot be reshaped to " + ShapeToString(shape));
  }
  ctx.set_output(0, in.Reshaped(std::move(shape)));
  return Status::OK();
}

// Flatten: [d0 * .. * d(axis-1), d(axis) * .. * d(n-1)]; axis in [-rank, rank].
Status Flatten(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  int64_t axis = ctx.Int("axis", 1);
  if (axis < 0) axis += in.rank();
  if (axis < 0 || axis > in.rank()) {
    return ctx.Error("axis " + std::to_string(ctx.Int("axis", 1)) + " is out of range for rank " +
                     std::to_string(in.rank()));
  }
  const size_t a = static_cast<size_t>(axis);
  ctx.set_output(0, in.Reshaped({Product(in.shape(), 0, a), Product(in.shape(), a, in.shape().size())}));
  return Status::OK();
}

// Squeeze: removes the listed dims (each must be 1), or every 1 when no axes.
Status Squeeze(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  Result<std::vector<int64_t>> axes = AxesAttrOrInput(ctx, 13);
  if (!axes.ok()) return axes.status();
  std::vector<bool> drop(static_cast<size_t>(in.rank()), false);
  if (axes->empty()) {
    for (int64_t d = 0; d < in.rank(); ++d) drop[static_cast<size_t>(d)] = in.dim(d) == 1;
  }
  for (int64_t axis : axes.value()) {
    int64_t a;
    if (!NormalizeAxis(axis, in.rank(), &a)) {
      return ctx.Error("axis " + std::to_string(axis) + " is out of range for rank " +
                       std::to_string(in.rank()));
    }
    if (in.dim(a) != 1) {
      return ctx.Error("cannot squeeze axis " + std::to_string(axis) + " of shape " +
                       ShapeToString(in.shape()) + ": its dim is not 1");
    }
    drop[static_cast<size_t>(a)] = true;
  }
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < in.rank(); ++d) {
    if (!drop[static_cast<size_t>(d)]) shape.push_back(in.dim(d));
  }
  ctx.set_output(0, in.Reshaped(std::move(shape)));
  return Status::OK();
}

// Unsqueeze: inserts 1s at the listed positions of the output (negative
// axes count from the end of the output).
Status Unsqueeze(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  Result<std::vector<int64_t>> axes = AxesAttrOrInput(ctx, 13);
  if (!axes.ok()) return axes.status();
  const int64_t out_rank = in.rank() + static_cast<int64_t>(axes->size());
  std::vector<bool> insert(static_cast<size_t>(out_rank), false);
  for (int64_t axis : axes.value()) {
    int64_t a;
    if (!NormalizeAxis(axis, out_rank, &a)) {
      return ctx.Error("axis " + std::to_string(axis) + " is out of range for output rank " +
                       std::to_string(out_rank));
    }
    if (insert[static_cast<size_t>(a)]) {
      return ctx.Error("axes " + ShapeToString(axes.value()) + " repeat axis " + std::to_string(a));
    }
    insert[static_cast<size_t>(a)] = true;
  }
  std::vector<int64_t> shape;
  int64_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    shape.push_back(insert[static_cast<size_t>(d)] ? 1 : in.dim(next++));
  }
  ctx.set_output(0, in.Reshaped(std::move(shape)));
  return Status::OK();
}

// Shape: the input's dims [start, end) (start/end from opset 15, clamped).
Status ShapeOp(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  const int64_t rank = in.rank();
  int64_t start = ctx.opset() >= 15 ? ctx.Int("start", 0) : 0;
  int64_t end = ctx.opset() >= 15 ? ctx.Int("end", rank) : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  const int64_t n = std::max<int64_t>(0, end - start);
  Result<Tensor> out = ctx.Allocate(kInt64, {n});
  if (!out.ok()) return out.status();
  for (int64_t i = 0; i < n; ++i) out->data<int64_t>()[i] = in.dim(start + i);
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Size: the input's element count as an int64 scalar.
Status Size(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  Result<Tensor> out = ctx.Allocate(kInt64, {});
  if (!out.ok()) return out.status();
  out->data<int64_t>()[0] = ctx.input(0).size();
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Expand: broadcasts the input and `shape` against each other.
Status Expand(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  Result<std::vector<int64_t>> shape = ctx.InputAsInts(1);
  if (!shape.ok()) return shape.status();
  std::vector<int64_t> out_shape;
  if (!BroadcastShapes({in.shape(), shape.value()}, &out_shape)) {
    return ctx.Error("input " + ShapeToString(in.shape()) + " does not broadcast with shape " +
                     ShapeToString(shape.value()));
  }
  Result<Tensor> out = ctx.Allocate(in.dtype(), out_shape);
  if (!out.ok()) return out.status();
  movement::StridedCopy(in.raw(), 0, out_shape, BroadcastStrides(in.shape(), out_shape),
                        out->raw(), ExecutorElementSize(in.dtype()));
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Fills every element of `t` with the bytes of `value`'s first element.
void FillWith(const Tensor& value, Tensor* t) {
  const int element = ExecutorElementSize(t->dtype());
  uint8_t* dst = static_cast<uint8_t*>(t->raw());
  for (int64_t i = 0; i < t->size(); ++i) {
    std::memcpy(dst + i * element, value.raw(), static_cast<size_t>(element));
  }
}

// ConstantOfShape: a tensor of the input shape filled with the one-element
// `value` attribute (float 0 when absent).
Status ConstantOfShape(KernelContext& ctx) {
  Result<std::vector<int64_t>> shape = ctx.InputAsInts(0);
  if (!shape.ok()) return shape.status();
  Tensor value;
  if (const onnx::TensorProto* attr = ctx.TensorAttr("value")) {
    Result<Tensor> v = TensorFromProto(*attr, "attribute 'value'");
    if (!v.ok()) {
      return v.status().code() == Status::Code::kNotSupported ? ctx.Unsupported(v.status().message())
                                                              : ctx.Error(v.status().message());
    }
    if (v->size() != 1) {
      return ctx.Error("attribute 'value' must hold one element, holds " +
                       std::to_string(v->size()));
    }
    value = std::move(v).value();
  } else {
    Result<Tensor> v = ctx.Allocate(kFloat, {1});
    if (!v.ok()) return v.status();
    value = std::move(v).value();
  }
  Result<Tensor> out = ctx.Allocate(value.dtype(), shape.value());
  if (!out.ok()) return out.status();
  FillWith(value, &out.value());
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Range: start, start + delta, ... while before limit; scalar inputs of one
// type (float, int64 or int32).
Status Range(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 3));
  const Tensor& start = ctx.input(0);
  const Tensor& limit = ctx.input(1);
  const Tensor& delta = ctx.input(2);
  if (start.size() != 1 || limit.size() != 1 || delta.size() != 1) {
    return ctx.Error("start, limit and delta must be scalars, got " +
                     ShapeToString(start.shape()) + ", " + ShapeToString(limit.shape()) + ", " +
                     ShapeToString(delta.shape()));
  }
  const int32_t dtype = start.dtype();
  if (limit.dtype() != dtype || delta.dtype() != dtype) {
    return ctx.Error("start, limit and delta must have one type");
  }
  if (dtype != kFloat && dtype != kInt64 && dtype != kInt32) {
    return ctx.Unsupported("Range of " + DataTypeName(dtype));
  }
  Status status;
  movement::ForNumericType(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T s = start.data<T>()[0], l = limit.data<T>()[0], d = delta.data<T>()[0];
    if (d == T{0}) {
      status = ctx.Error("delta is 0");
      return;
    }
    int64_t n = 0;
    if constexpr (std::is_floating_point_v<T>) {
      const double count = std::ceil((static_cast<double>(l) - s) / d);
      if (!(count < 9.0e18)) {
        status = ctx.Error("Range has too many elements");
        return;
      }
      n = count > 0 ? static_cast<int64_t>(count) : 0;
    } else {
      int64_t diff;
      if (__builtin_sub_overflow(static_cast<int64_t>(l), static_cast<int64_t>(s), &diff)) {
        status = ctx.Error("Range has too many elements");
        return;
      }
      if ((diff > 0 && d > 0) || (diff < 0 && d < 0)) {
        const uint64_t a = diff < 0 ? 0 - static_cast<uint64_t>(diff) : static_cast<uint64_t>(diff);
        const uint64_t b = d < 0 ? 0 - static_cast<uint64_t>(d) : static_cast<uint64_t>(d);
        n = static_cast<int64_t>(a / b + (a % b != 0 ? 1 : 0));
      }
    }
    Result<Tensor> out = ctx.Allocate(dtype, {n});
    if (!out.ok()) {
      status = out.status();
      return;
    }
    T* o = out->template data<T>();
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(s + static_cast<T>(i) * d);
    ctx.set_output(0, std::move(out).value());
  });
  return status;
}

// Constant nodes the executor did not turn into constants: `value`,
// value_float(s), value_int(s). Strings and sparse tensors are unsupported.
Status Constant(KernelContext& ctx) {
  if (const onnx::TensorProto* attr = ctx.TensorAttr("value")) {
    Result<Tensor> v = TensorFromProto(*attr, "attribute 'value'");
    if (!v.ok()) {
      return v.status().code() == Status::Code::kNotSupported ? ctx.Unsupported(v.status().message())
                                                              : ctx.Error(v.status().message());
    }
    ctx.set_output(0, std::move(v).value());
    return Status::OK();
  }
  // One element or a list, as float or int64 values.
  const float value_float = ctx.Float("value_float", 0);
  const int64_t value_int = ctx.Int("value_int", 0);
  const std::vector<float> floats = ctx.Floats("value_floats");
  const std::vector<int64_t> ints = ctx.Ints("value_ints");
  int32_t dtype;
  std::vector<int64_t> shape;
  const void* bytes;
  size_t byte_size;
  if (ctx.HasAttr("value_float")) {
    dtype = kFloat;
    bytes = &value_float;
    byte_size = sizeof(float);
  } else if (ctx.HasAttr("value_floats")) {
    dtype = kFloat;
    bytes = floats.data();
    byte_size = floats.size() * sizeof(float);
    shape = {static_cast<int64_t>(floats.size())};
  } else if (ctx.HasAttr("value_int")) {
    dtype = kInt64;
    bytes = &value_int;
    byte_size = sizeof(int64_t);
  } else if (ctx.HasAttr("value_ints")) {
    dtype = kInt64;
    bytes = ints.data();
    byte_size = ints.size() * sizeof(int64_t);
    shape = {static_cast<int64_t>(ints.size())};
  } else {
    return ctx.Unsupported(
        "only the value, value_float(s) and value_int(s) forms are supported "
        "(not sparse_value or value_string(s))");
  }
  Result<Tensor> out = ctx.Allocate(dtype, shape);
  if (!out.ok()) return out.status();
  if (byte_size > 0) std::memcpy(out->raw(), bytes, byte_size);
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& ShapeKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Reshape", "", 1, 0, Reshape},
      {"Flatten", "", 1, 0, Flatten},
      {"Squeeze", "", 1, 0, Squeeze},
      {"Unsqueeze", "", 1, 0, Unsqueeze},
      {"Shape", "", 1, 0, ShapeOp},
      {"Size", "", 1, 0, Size},
      {"Expand", "", 8, 0, Expand},
      {"ConstantOfShape", "", 9, 0, ConstantOfShape},
      {"Range", "", 11, 0, Range},
      {"Constant", "", 1, 0, Constant},
  };
  return kKernels;
}

}  // namespace pq::exec
