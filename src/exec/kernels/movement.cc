// Movement kernels of pq's executor: ops that reorder, select or repeat
// elements. They move bytes, so they serve every executor dtype through the
// element size. Gather/GatherElements, Pad, TopK, Resize/Upsample and Einsum
// have files of their own.
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

// Transpose: out dim i = in dim perm[i]; perm defaults to reversed dims.
Status Transpose(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  std::vector<int64_t> perm = ctx.Ints("perm");
  if (!ctx.HasAttr("perm")) {
    for (int64_t d = in.rank(); d-- > 0;) perm.push_back(d);
  }
  std::vector<bool> seen(static_cast<size_t>(in.rank()), false);
  bool valid = static_cast<int64_t>(perm.size()) == in.rank();
  for (size_t i = 0; valid && i < perm.size(); ++i) {
    valid = perm[i] >= 0 && perm[i] < in.rank() && !seen[static_cast<size_t>(perm[i])];
    if (valid) seen[static_cast<size_t>(perm[i])] = true;
  }
  if (!valid) {
    return ctx.Error("perm " + ShapeToString(perm) + " is not a permutation of the dims of " +
                     ShapeToString(in.shape()));
  }
  std::vector<int64_t> shape;
  for (int64_t p : perm) shape.push_back(in.dim(p));
  Result<Tensor> out = ctx.Allocate(in.dtype(), shape);
  if (!out.ok()) return out.status();
  movement::TransposeInto(in, perm, &out.value());
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Concat: joins the inputs along `axis` (default 1 before opset 4).
Status Concat(KernelContext& ctx) {
  if (ctx.num_inputs() == 0) return ctx.Error("needs at least one input");
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
  }
  if (ctx.opset() >= 4 && !ctx.HasAttr("axis")) return ctx.Error("attribute 'axis' is required");
  const Tensor& first = ctx.input(0);
  const int64_t raw_axis = ctx.Int("axis", 1);
  int64_t axis;
  if (!NormalizeAxis(raw_axis, first.rank(), &axis)) return ctx.Error(AxisError(raw_axis, first.rank()));
  std::vector<int64_t> shape = first.shape();
  shape[static_cast<size_t>(axis)] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    bool same = t.dtype() == first.dtype() && t.rank() == first.rank();
    for (int64_t d = 0; same && d < t.rank(); ++d) same = d == axis || t.dim(d) == first.dim(d);
    if (!same) {
      return ctx.Error("input " + std::to_string(i) + " " + ShapeToString(t.shape()) +
                       " does not match input 0 " + ShapeToString(first.shape()) +
                       " (type and every dim but axis " + std::to_string(axis) + ")");
    }
    shape[static_cast<size_t>(axis)] += t.dim(axis);
  }
  Result<Tensor> out = ctx.Allocate(first.dtype(), shape);
  if (!out.ok()) return out.status();
  const int64_t element = ExecutorElementSize(first.dtype());
  const int64_t outer = Product(shape, 0, static_cast<size_t>(axis));
  const int64_t inner = Product(shape, static_cast<size_t>(axis) + 1, shape.size()) * element;
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& t = ctx.input(i);
      const int64_t run = t.dim(axis) * inner;
      if (run == 0) continue;
      std::memcpy(dst, static_cast<const uint8_t*>(t.raw()) + o * run, static_cast<size_t>(run));
      dst += run;
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Copies in[..., begin:begin+len, ...] along `axis` into a new tensor.
Result<Tensor> CopyRange(const KernelContext& ctx, const Tensor& in, int64_t axis, int64_t begin,
                         int64_t len) {
  std::vector<int64_t> shape = in.shape();
  shape[static_cast<size_t>(axis)] = len;
  Result<Tensor> out = ctx.Allocate(in.dtype(), shape);
  if (!out.ok() || out->size() == 0) return out;
  movement::StridedCopy(in.raw(), begin * DenseStrides(in.shape())[static_cast<size_t>(axis)],
                        shape, DenseStrides(in.shape()), out->raw(),
                        ExecutorElementSize(in.dtype()));
  return out;
}

// Split: `split` sizes (attribute before opset 13, input after) or equal
// parts, the last one smaller when the dim does not divide (opset 18).
Status Split(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  const int64_t raw_axis = ctx.Int("axis", 0);
  int64_t axis;
  if (!NormalizeAxis(raw_axis, in.rank(), &axis)) return ctx.Error(AxisError(raw_axis, in.rank()));
  const int64_t dim = in.dim(axis);
  std::vector<int64_t> sizes;
  if (ctx.opset() < 13) {
    sizes = ctx.Ints("split");
  } else if (ctx.has_input(1)) {
    Result<std::vector<int64_t>> s = ctx.InputAsInts(1);
    if (!s.ok()) return s.status();
    sizes = std::move(s).value();
  }
  const int64_t n = ctx.num_outputs();
  if (sizes.empty()) {
    if (ctx.opset() >= 18 && ctx.HasAttr("num_outputs") && ctx.Int("num_outputs", 0) != n) {
      return ctx.Error("num_outputs " + std::to_string(ctx.Int("num_outputs", 0)) +
                       " differs from the node's " + std::to_string(n) + " outputs");
    }
    const bool uneven_ok = ctx.opset() >= 18;
    if (n == 0 || (!uneven_ok && dim % n != 0)) {
      return ctx.Error("dim " + std::to_string(dim) + " of axis " + std::to_string(axis) +
                       " does not split into " + std::to_string(n) + " equal parts");
    }
    // Parts of ceil(dim / n); only the last may be smaller, and not empty.
    const int64_t chunk = (dim + n - 1) / n;
    if (dim > 0 && chunk * (n - 1) >= dim) {
      return ctx.Error("dim " + std::to_string(dim) + " cannot split into " + std::to_string(n) +
                       " parts of " + std::to_string(chunk));
    }
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::min(chunk, dim - i * chunk));
  }
  int64_t sum = 0;
  bool invalid = false;
  for (int64_t s : sizes) {
    invalid = invalid || s < 0 || s > dim;
    sum += invalid ? 0 : s;
  }
  if (static_cast<int64_t>(sizes.size()) != n || invalid || sum != dim) {
    return ctx.Error("split " + ShapeToString(sizes) + " does not cover dim " + std::to_string(dim) +
                     " of axis " + std::to_string(axis) + " with " + std::to_string(n) + " outputs");
  }
  int64_t begin = 0;
  for (int64_t i = 0; i < n; ++i) {
    Result<Tensor> part = CopyRange(ctx, in, axis, begin, sizes[static_cast<size_t>(i)]);
    if (!part.ok()) return part.status();
    ctx.set_output(static_cast<int>(i), std::move(part).value());
    begin += sizes[static_cast<size_t>(i)];
  }
  return Status::OK();
}

// Slice: starts/ends/axes attributes before opset 10; inputs starts, ends,
// axes, steps after. Clamps as the ONNX spec says, steps may be negative.
Status Slice(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.Ints("starts");
    ends = ctx.Ints("ends");
    axes = ctx.Ints("axes");
  } else {
    for (int i = 1; i <= 4; ++i) {
      if (!ctx.has_input(i)) continue;
      Result<std::vector<int64_t>> v = ctx.InputAsInts(i);
      if (!v.ok()) return v.status();
      (i == 1 ? starts : i == 2 ? ends : i == 3 ? axes : steps) = std::move(v).value();
    }
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return ctx.Error("starts, ends, axes and steps must have one length, got " +
                     std::to_string(starts.size()) + ", " + std::to_string(ends.size()) + ", " +
                     std::to_string(axes.size()) + ", " + std::to_string(steps.size()));
  }
  const std::vector<int64_t> in_strides = DenseStrides(in.shape());
  std::vector<int64_t> shape = in.shape(), strides = in_strides;
  std::vector<bool> seen(static_cast<size_t>(in.rank()), false);
  int64_t offset = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a;
    if (!NormalizeAxis(axes[i], in.rank(), &a)) return ctx.Error(AxisError(axes[i], in.rank()));
    if (seen[static_cast<size_t>(a)]) return ctx.Error("axes " + ShapeToString(axes) + " repeat an axis");
    seen[static_cast<size_t>(a)] = true;
    const int64_t d = in.dim(a);
    if (steps[i] == 0) return ctx.Error("steps must not be 0");
    // Steps longer than the dim select at most one element; clamping them
    // keeps the stride arithmetic from overflowing.
    const int64_t step = std::clamp<int64_t>(steps[i], -std::max<int64_t>(d, 1), std::max<int64_t>(d, 1));
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    int64_t len = 0;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      // (e - s + step - 1) / step without overflow.
      if (e > s) len = (e - s - 1) / step + 1;
    } else if (d > 0) {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      if (s > e) len = (s - e - 1) / -step + 1;
    }
    shape[static_cast<size_t>(a)] = len;
    strides[static_cast<size_t>(a)] = in_strides[static_cast<size_t>(a)] * step;
    if (len > 0) offset += s * in_strides[static_cast<size_t>(a)];
  }
  Result<Tensor> out = ctx.Allocate(in.dtype(), shape);
  if (!out.ok()) return out.status();
  if (out->size() > 0) {
    movement::StridedCopy(in.raw(), offset, shape, strides, out->raw(),
                          ExecutorElementSize(in.dtype()));
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Tile: repeats the input `repeats[d]` times along each dim d.
Status Tile(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  Result<std::vector<int64_t>> repeats = ctx.InputAsInts(1);
  if (!repeats.ok()) return repeats.status();
  bool valid = static_cast<int64_t>(repeats->size()) == in.rank();
  for (int64_t r : repeats.value()) valid = valid && r >= 0;
  if (!valid) {
    return ctx.Error("repeats " + ShapeToString(repeats.value()) +
                     " must be non-negative, one per dim of " + ShapeToString(in.shape()));
  }
  // The output seen as [r0, d0, r1, d1, ...] reads the input with stride 0
  // along each repeat dim.
  const std::vector<int64_t> in_strides = DenseStrides(in.shape());
  std::vector<int64_t> shape, view, strides;
  for (int64_t d = 0; d < in.rank(); ++d) {
    const int64_t r = repeats.value()[static_cast<size_t>(d)];
    shape.push_back(movement::CheckedMul(in.dim(d), r));
    if (shape.back() < 0) return ctx.Error("repeats " + ShapeToString(repeats.value()) + " overflow");
    view.insert(view.end(), {r, in.dim(d)});
    strides.insert(strides.end(), {0, in_strides[static_cast<size_t>(d)]});
  }
  Result<Tensor> out = ctx.Allocate(in.dtype(), shape);
  if (!out.ok()) return out.status();
  if (out->size() > 0) {
    movement::StridedCopy(in.raw(), 0, view, strides, out->raw(), ExecutorElementSize(in.dtype()));
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Shared by DepthToSpace and SpaceToDepth: reads the input as `view`,
// permutes it by `perm` and returns the result with `shape`.
Status PermuteBlocks(KernelContext& ctx, const std::vector<int64_t>& view,
                     const std::vector<int64_t>& perm, std::vector<int64_t> shape) {
  const Tensor in = ctx.input(0).Reshaped(view);
  std::vector<int64_t> permuted;
  for (int64_t p : perm) permuted.push_back(view[static_cast<size_t>(p)]);
  Result<Tensor> out = ctx.Allocate(in.dtype(), permuted);
  if (!out.ok()) return out.status();
  movement::TransposeInto(in, perm, &out.value());
  ctx.set_output(0, out->Reshaped(std::move(shape)));
  return Status::OK();
}

// Checks a 4-D NCHW input and a positive blocksize; sets n, c, h, w, b.
Status BlockArgs(const KernelContext& ctx, int64_t* n, int64_t* c, int64_t* h, int64_t* w,
                 int64_t* b) {
  const Tensor& in = ctx.input(0);
  *b = ctx.Int("blocksize", 0);
  if (in.rank() != 4) return ctx.Error("input must be 4-D NCHW, got " + ShapeToString(in.shape()));
  if (*b <= 0) return ctx.Error("blocksize must be positive, got " + std::to_string(*b));
  *n = in.dim(0), *c = in.dim(1), *h = in.dim(2), *w = in.dim(3);
  return Status::OK();
}

// DepthToSpace: moves channel blocks into b x b spatial blocks (DCR or CRD).
Status DepthToSpace(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  int64_t n, c, h, w, b;
  PQ_RETURN_IF_ERROR(BlockArgs(ctx, &n, &c, &h, &w, &b));
  if (b > c || c % (b * b) != 0) {
    return ctx.Error("channels " + std::to_string(c) + " are not a multiple of blocksize^2 (blocksize " +
                     std::to_string(b) + ")");
  }
  const int64_t oc = c / (b * b);
  const std::string mode = ctx.opset() >= 11 ? ctx.String("mode", "DCR") : "DCR";
  if (mode == "DCR") {
    return PermuteBlocks(ctx, {n, b, b, oc, h, w}, {0, 3, 4, 1, 5, 2}, {n, oc, h * b, w * b});
  }
  if (mode == "CRD") {
    return PermuteBlocks(ctx, {n, oc, b, b, h, w}, {0, 1, 4, 2, 5, 3}, {n, oc, h * b, w * b});
  }
  return ctx.Error("mode must be DCR or CRD, got '" + mode + "'");
}

// SpaceToDepth: moves b x b spatial blocks into channels.
Status SpaceToDepth(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  int64_t n, c, h, w, b;
  PQ_RETURN_IF_ERROR(BlockArgs(ctx, &n, &c, &h, &w, &b));
  if (h % b != 0 || w % b != 0 || movement::CheckedMul(c, movement::CheckedMul(b, b)) < 0) {
    return ctx.Error("spatial dims " + std::to_string(h) + "x" + std::to_string(w) +
                     " are not multiples of blocksize " + std::to_string(b));
  }
  return PermuteBlocks(ctx, {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4},
                       {n, c * b * b, h / b, w / b});
}

}  // namespace

const std::vector<KernelDef>& MovementKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Transpose", "", 1, 0, Transpose},
      {"Concat", "", 1, 0, Concat},
      {"Split", "", 1, 0, Split},
      {"Slice", "", 1, 0, Slice},
      {"Tile", "", 6, 0, Tile},
      {"DepthToSpace", "", 1, 0, DepthToSpace},
      {"SpaceToDepth", "", 1, 0, SpaceToDepth},
  };
  return kKernels;
}

}  // namespace pq::exec
