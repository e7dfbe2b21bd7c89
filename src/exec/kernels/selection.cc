// Selection kernels of pq's executor: ops that pick, reorder or encode
// elements by index or condition — OneHot, EyeLike, Compress,
// ReverseSequence and Unique. Compress and ReverseSequence move bytes, so
// they serve every executor dtype.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

using movement::Product;

// Element `i` of a numeric tensor as a double. REQUIRES: a numeric dtype.
double LoadAsDouble(const Tensor& t, int64_t i) {
  double v = 0;
  movement::ForNumericType(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = static_cast<double>(t.data<T>()[i]);
  });
  return v;
}

bool IsNumeric(int32_t dtype) {
  return movement::ForNumericType(dtype, [](auto) {});
}

// OneHot (opsets 9, 11): indices (any numeric), depth (one numeric value),
// values [off, on]; attribute axis in [-(r+1), r] for indices of rank r.
// Output: indices' shape with depth inserted at axis, values' type; index
// i (i + depth when negative) selects `on`, out-of-range indices none.
Status OneHot(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 3));
  const Tensor& indices = ctx.input(0);
  const Tensor& depth_t = ctx.input(1);
  const Tensor& values = ctx.input(2);
  if (!IsNumeric(indices.dtype()) || !IsNumeric(depth_t.dtype()) || !IsNumeric(values.dtype())) {
    return ctx.Unsupported("indices, depth and values must be numeric, got " +
                           DataTypeName(indices.dtype()) + ", " + DataTypeName(depth_t.dtype()) +
                           " and " + DataTypeName(values.dtype()));
  }
  if (depth_t.size() != 1) {
    return ctx.Error("depth must hold one value, got shape " + ShapeToString(depth_t.shape()));
  }
  if (values.size() != 2) {
    return ctx.Error("values must hold [off, on], got shape " + ShapeToString(values.shape()));
  }
  const double depth_d = LoadAsDouble(depth_t, 0);
  if (!(depth_d >= 1) || depth_d > 9.0e15) {
    return ctx.Error("depth must be a positive integer, got " + std::to_string(depth_d));
  }
  const int64_t depth = static_cast<int64_t>(depth_d);
  const int64_t rank = indices.rank() + 1;
  const int64_t axis_attr = ctx.Int("axis", -1);
  int64_t axis;
  if (!movement::NormalizeAxis(axis_attr, rank, &axis)) {
    return ctx.Error(movement::AxisError(axis_attr, rank));
  }
  std::vector<int64_t> shape = indices.shape();
  shape.insert(shape.begin() + axis, depth);
  Result<Tensor> out = ctx.AllocateUninitialized(values.dtype(), shape);
  if (!out.ok()) return out.status();
  int64_t outer = Product(indices.shape(), 0, static_cast<size_t>(axis));
  const int64_t inner = Product(indices.shape(), static_cast<size_t>(axis), indices.shape().size());
  const int64_t element = ExecutorElementSize(values.dtype());
  const uint8_t* off = static_cast<const uint8_t*>(values.raw());
  const uint8_t* on = off + element;
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  if (out->size() == 0) outer = 0;  // no loop over a depth with nothing in it
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t d = 0; d < depth; ++d) {
      for (int64_t i = 0; i < inner; ++i) {
        double index = std::trunc(LoadAsDouble(indices, o * inner + i));
        if (index < 0) index += static_cast<double>(depth);
        const bool hot = index == static_cast<double>(d);
        std::memcpy(dst + ((o * depth + d) * inner + i) * element, hot ? on : off,
                    static_cast<size_t>(element));
      }
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// EyeLike (opset 9): a 2-D input; attributes dtype (default: the input's)
// and k. Output: the input's shape, ones where column - row == k.
Status EyeLike(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) return ctx.Error("input must be 2-D, got " + ShapeToString(x.shape()));
  const int64_t declared = ctx.Int("dtype", x.dtype());
  if (declared <= 0 || declared > 0x7fffffff) {
    return ctx.Error("dtype " + std::to_string(declared) + " is not a tensor type");
  }
  const int32_t dtype = ExecutorFeedType(static_cast<int32_t>(declared));
  if (!IsNumeric(dtype)) {
    return ctx.Unsupported("output type " + DataTypeName(static_cast<int32_t>(declared)) +
                           " is not supported");
  }
  const int64_t k = ctx.Int("k", 0);
  Result<Tensor> out = ctx.Allocate(dtype, x.shape());  // zero-filled
  if (!out.ok()) return out.status();
  const int64_t rows = x.dim(0), cols = x.dim(1);
  const int64_t element = ExecutorElementSize(dtype);
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  // Row i holds its one at column i + k; rows past the matrix hold none.
  const int64_t first = k >= 0 ? 0 : std::min(rows, -std::max(k, -rows));
  for (int64_t i = first; i < rows; ++i) {
    if (k >= cols || i >= cols - k) break;
    movement::StoreAs(dtype, 1.0, dst + (i * cols + i + k) * element);
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Compress (opsets 9, 11): input, a 1-D bool (or numeric) condition, and
// an optional axis. Keeps the slices along axis (or the elements of the
// flattened input) whose condition entry is true; entries past the
// condition's length are dropped.
Status Compress(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.rank() != 1 || !IsNumeric(cond.dtype())) {
    return ctx.Error("condition must be a 1-D bool tensor, got " + DataTypeName(cond.dtype()) +
                     " " + ShapeToString(cond.shape()));
  }
  const int64_t element = ExecutorElementSize(x.dtype());
  if (element == 0) return ctx.Unsupported("inputs of type " + DataTypeName(x.dtype()) + " are not supported");
  const bool has_axis = ctx.HasAttr("axis");
  int64_t axis = 0;
  std::vector<int64_t> shape = {x.size()};
  if (has_axis) {
    const int64_t axis_attr = ctx.Int("axis", 0);
    if (!movement::NormalizeAxis(axis_attr, x.rank(), &axis)) {
      return ctx.Error(movement::AxisError(axis_attr, x.rank()));
    }
    shape = x.shape();
  }
  const int64_t dim = shape[static_cast<size_t>(axis)];
  if (cond.size() > dim) {
    return ctx.Error("condition has " + std::to_string(cond.size()) + " entries, more than the " +
                     std::to_string(dim) + " along the axis");
  }
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < cond.size(); ++i) {
    if (LoadAsDouble(cond, i) != 0) kept.push_back(i);
  }
  const int64_t outer = Product(shape, 0, static_cast<size_t>(axis));
  const int64_t inner = Product(shape, static_cast<size_t>(axis) + 1, shape.size());
  shape[static_cast<size_t>(axis)] = static_cast<int64_t>(kept.size());
  Result<Tensor> out = ctx.AllocateUninitialized(x.dtype(), shape);
  if (!out.ok()) return out.status();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  const size_t run = static_cast<size_t>(inner * element);
  for (int64_t o = 0; o < outer && run > 0; ++o) {
    for (int64_t i : kept) {
      std::memcpy(dst, src + (o * dim + i) * inner * element, run);
      dst += run;
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// ReverseSequence (opset 10): input of rank >= 2, sequence_lens int64
// [batch]; attributes time_axis and batch_axis (0 and 1, in either order).
// Reverses the first sequence_lens[b] steps of each batch entry b.
Status ReverseSequence(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  const Tensor& lens = ctx.input(1);
  const int64_t time_axis = ctx.Int("time_axis", 0);
  const int64_t batch_axis = ctx.Int("batch_axis", 1);
  if (!((time_axis == 0 && batch_axis == 1) || (time_axis == 1 && batch_axis == 0))) {
    return ctx.Error("time_axis and batch_axis must be 0 and 1 in some order, got " +
                     std::to_string(time_axis) + " and " + std::to_string(batch_axis));
  }
  if (x.rank() < 2) return ctx.Error("input must have rank >= 2, got " + ShapeToString(x.shape()));
  const int64_t element = ExecutorElementSize(x.dtype());
  if (element == 0) return ctx.Unsupported("inputs of type " + DataTypeName(x.dtype()) + " are not supported");
  const int64_t batch = x.dim(batch_axis), steps = x.dim(time_axis);
  if ((lens.dtype() != kInt64 && lens.dtype() != kInt32) || lens.shape() != std::vector<int64_t>{batch}) {
    return ctx.Error("sequence_lens must be int64 of shape [" + std::to_string(batch) + "], got " +
                     DataTypeName(lens.dtype()) + " " + ShapeToString(lens.shape()));
  }
  Result<Tensor> out = ctx.AllocateUninitialized(x.dtype(), x.shape());
  if (!out.ok()) return out.status();
  const int64_t inner = Product(x.shape(), 2, x.shape().size()) * element;
  // Byte offset of (step t, batch entry b).
  auto offset = [&](int64_t t, int64_t b) {
    return (time_axis == 0 ? t * batch + b : b * steps + t) * inner;
  };
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lens.dtype() == kInt64 ? lens.data<int64_t>()[b] : lens.data<int32_t>()[b];
    if (len < 0 || len > steps) {
      return ctx.Error("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
                       " is out of range [0, " + std::to_string(steps) + "]");
    }
    for (int64_t t = 0; t < steps && inner > 0; ++t) {
      const int64_t from = t < len ? len - 1 - t : t;
      std::memcpy(dst + offset(t, b), src + offset(from, b), static_cast<size_t>(inner));
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Orders values with NaN last and all NaNs equal: a strict weak order.
template <typename T>
bool TotalLess(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return !std::isnan(a) && std::isnan(b);
  }
  return a < b;
}

// Groups the n slices x[o, s, i] (o < outer, i < inner) of `x` into equal
// ones, in ascending lexicographic order: firsts[g] is group g's smallest
// slice index, counts[g] its size, group_of[s] the group of slice s.
template <typename T>
void GroupSlices(const T* x, int64_t outer, int64_t n, int64_t inner, std::vector<int64_t>* firsts,
                 std::vector<int64_t>* counts, std::vector<int64_t>* group_of) {
  auto compare = [&](int64_t a, int64_t b) {  // -1, 0, 1
    for (int64_t o = 0; o < outer; ++o) {
      const T* pa = x + (o * n + a) * inner;
      const T* pb = x + (o * n + b) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        if (TotalLess(pa[i], pb[i])) return -1;
        if (TotalLess(pb[i], pa[i])) return 1;
      }
    }
    return 0;
  };
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) order[static_cast<size_t>(s)] = s;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return compare(a, b) < 0; });
  group_of->assign(static_cast<size_t>(n), 0);
  for (size_t r = 0; r < order.size(); ++r) {
    if (r == 0 || compare(order[r - 1], order[r]) != 0) {
      firsts->push_back(order[r]);
      counts->push_back(0);
    }
    ++counts->back();
    (*group_of)[static_cast<size_t>(order[r])] = static_cast<int64_t>(firsts->size()) - 1;
  }
}

// Unique (opset 11): a numeric input and an optional axis; attribute
// sorted (default 1). Outputs: the unique elements (or slices along axis),
// sorted ascending or in order of first occurrence; the index of each
// one's first occurrence; each input element's (slice's) index in the
// output; and each one's count (the last three int64).
Status Unique(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(4));
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (!IsNumeric(x.dtype())) {
    return ctx.Unsupported("inputs of type " + DataTypeName(x.dtype()) + " are not supported");
  }
  const int64_t sorted = ctx.Int("sorted", 1);
  if (sorted != 0 && sorted != 1) return ctx.Error("sorted must be 0 or 1, got " + std::to_string(sorted));
  int64_t axis = 0;
  std::vector<int64_t> shape = {x.size()};
  if (ctx.HasAttr("axis")) {
    const int64_t axis_attr = ctx.Int("axis", 0);
    if (!movement::NormalizeAxis(axis_attr, x.rank(), &axis)) {
      return ctx.Error(movement::AxisError(axis_attr, x.rank()));
    }
    shape = x.shape();
  }
  const int64_t outer = Product(shape, 0, static_cast<size_t>(axis));
  const int64_t n = shape[static_cast<size_t>(axis)];
  const int64_t inner = Product(shape, static_cast<size_t>(axis) + 1, shape.size());
  if (outer * inner == 0 && n > 1) {
    return ctx.Error("the slices along axis " + std::to_string(axis) + " of " +
                     ShapeToString(x.shape()) + " are empty");
  }
  std::vector<int64_t> firsts, counts, group_of;
  movement::ForNumericType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    GroupSlices<T>(x.data<T>(), outer, n, inner, &firsts, &counts, &group_of);
  });
  // Output position of each group.
  const size_t groups = firsts.size();
  std::vector<size_t> position(groups);
  for (size_t g = 0; g < groups; ++g) position[g] = g;
  if (sorted == 0) {
    std::vector<size_t> by_first(groups);
    for (size_t g = 0; g < groups; ++g) by_first[g] = g;
    std::sort(by_first.begin(), by_first.end(), [&](size_t a, size_t b) { return firsts[a] < firsts[b]; });
    for (size_t p = 0; p < groups; ++p) position[by_first[p]] = p;
  }
  const int64_t u = static_cast<int64_t>(groups);
  std::vector<int64_t> y_shape = shape;
  y_shape[static_cast<size_t>(axis)] = u;
  Result<Tensor> y = ctx.AllocateUninitialized(x.dtype(), y_shape);
  Result<Tensor> indices = ctx.AllocateUninitialized(kInt64, {u});
  Result<Tensor> inverse = ctx.AllocateUninitialized(kInt64, {n});
  Result<Tensor> count = ctx.AllocateUninitialized(kInt64, {u});
  for (const Result<Tensor>* t : {&y, &indices, &inverse, &count}) {
    if (!t->ok()) return t->status();
  }
  const int64_t element = ExecutorElementSize(x.dtype());
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(y->raw());
  for (size_t g = 0; g < groups; ++g) {
    const int64_t p = static_cast<int64_t>(position[g]);
    indices->data<int64_t>()[p] = firsts[g];
    count->data<int64_t>()[p] = counts[g];
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(dst + ((o * u + p) * inner) * element, src + ((o * n + firsts[g]) * inner) * element,
                  static_cast<size_t>(inner * element));
    }
  }
  for (int64_t s = 0; s < n; ++s) {
    inverse->data<int64_t>()[s] = static_cast<int64_t>(position[static_cast<size_t>(group_of[static_cast<size_t>(s)])]);
  }
  ctx.set_output(0, std::move(y).value());
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(indices).value());
  if (ctx.num_outputs() > 2) ctx.set_output(2, std::move(inverse).value());
  if (ctx.num_outputs() > 3) ctx.set_output(3, std::move(count).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& SelectionKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"OneHot", "", 9, 0, OneHot},
      {"EyeLike", "", 9, 0, EyeLike},
      {"Compress", "", 9, 0, Compress},
      {"ReverseSequence", "", 10, 0, ReverseSequence},
      {"Unique", "", 11, 0, Unique},
  };
  return kKernels;
}

}  // namespace pq::exec
