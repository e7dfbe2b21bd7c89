// Pooling kernels of pq's executor: MaxPool, AveragePool (1-D/2-D/3-D, any
// padding, ceil_mode, dilations), GlobalAveragePool, GlobalMaxPool.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/conv_geometry.h"
#include "exec/kernels/elementwise_util.h"
#include "exec/kernels/movement_common.h"
#include "exec/kernels/pool_windows.h"

namespace pq::exec {
namespace {

// Keeps the first NaN seen, else the larger value (MaxPool's combine).
// No short-circuits: the compiler can select rather than branch.
inline float MaxKeepingNan(float best, float v) {
  const bool take = (best == best) & ((v > best) | (v != v));
  return take ? v : best;
}

// Max pooling of output row columns [x_lo, x_hi) whose windows lie wholly
// inside the input columns, over input rows [ys, ye) (not empty). Visits each
// window's taps in (row, column) order, as the per-window loop does, but
// column-vectorised across the windows.
void MaxPoolRowInterior(const float* src, int64_t iw, int64_t ys, int64_t ye,
                        const WindowGeometry& g, int64_t x_lo, int64_t x_hi, float* out) {
  const int64_t stride = g.strides[1], kw = g.kernel[1];
  for (int64_t r = ys; r < ye; ++r) {
    const float* line = src + r * iw - g.pad_begin[1];
    for (int64_t j = 0; j < kw; ++j) {
      if (r == ys && j == 0) {
        for (int64_t x = x_lo; x < x_hi; ++x) out[x] = line[x * stride];
        continue;
      }
      for (int64_t x = x_lo; x < x_hi; ++x) out[x] = MaxKeepingNan(out[x], line[x * stride + j]);
    }
  }
}

// 2x2 windows at stride 2 that all lie inside the input (no padding, floor
// output): the usual CNN MaxPool. Same taps in the same (row, column) order as
// MaxPoolRowInterior, kept in registers instead of re-read from `dst`.
bool IsMaxPool2x2Stride2(const WindowGeometry& g) {
  return g.kernel[0] == 2 && g.kernel[1] == 2 && g.strides[0] == 2 && g.strides[1] == 2 &&
         g.pad_begin[0] == 0 && g.pad_begin[1] == 0 && 2 * g.output[0] <= g.input[0] &&
         2 * g.output[1] <= g.input[1];
}

void MaxPool2x2Stride2(const float* src, float* dst, const WindowGeometry& g) {
  const int64_t iw = g.input[1], oh = g.output[0], ow = g.output[1];
  for (int64_t y = 0; y < oh; ++y) {
    const float* top = src + 2 * y * iw;
    const float* bottom = top + iw;
    float* out = dst + y * ow;
    for (int64_t x = 0; x < ow; ++x) {
      float best = MaxKeepingNan(top[2 * x], top[2 * x + 1]);
      best = MaxKeepingNan(best, bottom[2 * x]);
      out[x] = MaxKeepingNan(best, bottom[2 * x + 1]);
    }
  }
}

// The common case: 2-D windows without dilation. Same results as the generic
// path (same visiting order), without per-window bookkeeping.
void Pool2d(const float* src, float* dst, const WindowGeometry& g, bool is_max, bool include_pad) {
  const int64_t ih = g.input[0], iw = g.input[1], oh = g.output[0], ow = g.output[1];
  // Output columns whose windows need no clipping: x*s - pad >= 0 and
  // x*s - pad + kw <= iw.
  const int64_t s = g.strides[1], pad = g.pad_begin[1];
  const int64_t x_lo = std::min<int64_t>(ow, (pad + s - 1) / s);
  const int64_t x_hi = iw + pad < g.kernel[1]
                           ? x_lo
                           : std::clamp<int64_t>((iw + pad - g.kernel[1]) / s + 1, x_lo, ow);
  for (int64_t y = 0; y < oh; ++y) {
    const int64_t y0 = y * g.strides[0] - g.pad_begin[0];
    const int64_t y1 = y0 + g.kernel[0];
    const int64_t ys = std::max<int64_t>(y0, 0), ye = std::min<int64_t>(y1, ih);
    const bool vectorised = is_max && ys < ye && x_lo < x_hi;
    if (vectorised) MaxPoolRowInterior(src, iw, ys, ye, g, x_lo, x_hi, dst + y * ow);
    for (int64_t x = 0; x < ow; ++x) {
      if (vectorised && x == x_lo) {
        x = x_hi - 1;
        continue;
      }
      const int64_t x0 = x * g.strides[1] - g.pad_begin[1];
      const int64_t x1 = x0 + g.kernel[1];
      const int64_t xs = std::max<int64_t>(x0, 0), xe = std::min<int64_t>(x1, iw);
      if (is_max) {
        // The first NaN of the window, else its largest value; -inf if empty.
        float best = ys < ye && xs < xe ? src[ys * iw + xs] : -std::numeric_limits<float>::infinity();
        for (int64_t r = ys; r < ye; ++r) {
          for (int64_t c = xs; c < xe; ++c) {
            best = MaxKeepingNan(best, src[r * iw + c]);
          }
        }
        dst[y * ow + x] = best;
      } else {
        double sum = 0;
        for (int64_t r = ys; r < ye; ++r) {
          for (int64_t c = xs; c < xe; ++c) sum += src[r * iw + c];
        }
        int64_t count = (ye - ys) * (xe - xs);
        if (include_pad) {
          count = (std::min<int64_t>(y1, ih + g.pad_end[0]) - std::max<int64_t>(y0, -g.pad_begin[0])) *
                  (std::min<int64_t>(x1, iw + g.pad_end[1]) - std::max<int64_t>(x0, -g.pad_begin[1]));
        }
        dst[y * ow + x] = count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
      }
    }
  }
}

template <typename T>
bool IsNanValue(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// The offset of row-major index `flat` of a plane of `dims` in column-major
// order (the first spatial axis fastest): MaxPool's storage_order=1 indices.
int64_t ColumnMajorOffset(int64_t flat, const std::vector<int64_t>& dims) {
  int64_t offset = 0, scale = 1;
  std::vector<int64_t> coord(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    coord[d] = flat % dims[d];
    flat /= dims[d];
  }
  for (size_t d = 0; d < dims.size(); ++d) {
    offset += coord[d] * scale;
    scale *= dims[d];
  }
  return offset;
}

// Max pooling of one plane by the generic window walk, for float (the first
// NaN of a window wins), int8 and uint8. When `indices` is given, writes each
// window's argmax as `base` plus its offset in the plane: row-major, or
// column-major when `column_major` (storage_order=1).
template <typename T>
void MaxPoolPlane(const T* src, T* dst, int64_t* indices, int64_t base, const WindowGeometry& g,
                  bool column_major) {
  TapWalk walk(g);
  ForEachWindow(g, [&](int64_t o, const std::vector<int64_t>& starts, const std::vector<int64_t>&) {
    T best = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                  : std::numeric_limits<T>::lowest();
    int64_t best_index = -1;
    ForEachTap(g, starts, &walk, [&](int64_t flat) {
      if (src[flat] > best || best_index < 0 || IsNanValue(src[flat])) {
        if (!(IsNanValue(best) && best_index >= 0)) {
          best = src[flat];
          best_index = flat;
        }
      }
    });
    dst[o] = best;
    if (indices != nullptr) {
      indices[o] = base + (column_major && best_index >= 0 ? ColumnMajorOffset(best_index, g.input)
                                                           : best_index);
    }
  });
}

// MaxPool of int8 or uint8 X (the window walk of MaxPoolPlane; Indices as
// for float). REQUIRES: `g` is X's geometry.
Status IntegerMaxPool(KernelContext& ctx, const WindowGeometry& g, bool column_major) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> out_shape = {x.dim(0), x.dim(1)};
  out_shape.insert(out_shape.end(), g.output.begin(), g.output.end());
  Result<Tensor> y = ctx.AllocateUninitialized(x.dtype(), out_shape);  // every window writes
  if (!y.ok()) return y.status();
  Tensor indices;
  if (ctx.num_outputs() > 1) {
    Result<Tensor> t = ctx.AllocateUninitialized(kInt64, out_shape);
    if (!t.ok()) return t.status();
    indices = std::move(t).value();
  }
  const int64_t in_plane = movement::Product(g.input), out_plane = movement::Product(g.output);
  const int64_t planes = x.dim(0) * x.dim(1);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    for (int64_t p = 0; p < planes; ++p) {
      MaxPoolPlane<T>(x.data<T>() + p * in_plane, y->data<T>() + p * out_plane,
                      indices.defined() ? indices.data<int64_t>() + p * out_plane : nullptr,
                      p * in_plane, g, column_major);
    }
  };
  if (x.dtype() == kInt8) {
    run(int8_t{});
  } else {
    run(uint8_t{});
  }
  ctx.set_output(0, std::move(y).value());
  if (indices.defined()) ctx.set_output(1, std::move(indices));
  return Status::OK();
}

Status Pool(KernelContext& ctx, bool is_max) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(is_max ? 2 : 1));
  const Tensor& x = ctx.input(0);
  const bool integer_max = is_max && (x.dtype() == kInt8 || x.dtype() == kUint8);
  if (x.dtype() != kFloat && !integer_max) {
    return ctx.Unsupported(std::string(is_max ? "MaxPool" : "AveragePool") + " of " +
                           DataTypeName(x.dtype()));
  }
  if (x.rank() < 3) return ctx.Error("X must be [N, C, spatial...], got " + ShapeToString(x.shape()));
  const std::vector<int64_t> spatial(x.shape().begin() + 2, x.shape().end());
  const std::vector<int64_t> kernel = ctx.Ints("kernel_shape");
  if (kernel.empty()) return ctx.Error("kernel_shape is required");
  if (!is_max && ctx.HasAttr("dilations") && ctx.opset() < 19) {
    return ctx.Error("AveragePool has dilations only from opset 19");
  }
  const int64_t storage_order = is_max ? ctx.Int("storage_order", 0) : 0;
  if (storage_order != 0 && storage_order != 1) {
    return ctx.Error("storage_order must be 0 (row-major) or 1 (column-major), got " +
                     std::to_string(storage_order));
  }
  WindowGeometry g;
  PQ_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, spatial, kernel, ctx.Int("ceil_mode", 0) != 0, &g));
  if (integer_max) return IntegerMaxPool(ctx, g, storage_order == 1);
  const bool include_pad = ctx.Int("count_include_pad", 0) != 0;
  std::vector<int64_t> out_shape = {x.dim(0), x.dim(1)};
  out_shape.insert(out_shape.end(), g.output.begin(), g.output.end());
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, out_shape);  // every window writes
  if (!y.ok()) return y.status();
  const bool want_indices = is_max && ctx.num_outputs() > 1;
  Tensor indices;
  if (want_indices) {
    Result<Tensor> t = ctx.Allocate(kInt64, out_shape);
    if (!t.ok()) return t.status();
    indices = std::move(t).value();
  }
  int64_t in_plane = 1, out_plane = 1;
  for (int64_t d : spatial) in_plane *= d;
  for (int64_t d : g.output) out_plane *= d;
  const int64_t planes = x.dim(0) * x.dim(1);
  const bool fast = g.kernel.size() == 2 && g.dilations[0] == 1 && g.dilations[1] == 1 &&
                    !want_indices;
  const bool max2x2 = fast && is_max && IsMaxPool2x2Stride2(g);
  const int threads = ctx.threads();
  const bool parallel = threads > 1 && planes > 1 && x.size() >= kElementwiseMinParallel;
#pragma omp parallel for num_threads(threads) schedule(static) if (parallel)
  for (int64_t p = 0; p < planes; ++p) {
    const float* src = x.data<float>() + p * in_plane;
    float* dst = y->data<float>() + p * out_plane;
    if (max2x2) {
      MaxPool2x2Stride2(src, dst, g);
      continue;
    }
    if (fast) {
      Pool2d(src, dst, g, is_max, include_pad);
      continue;
    }
    if (is_max) {
      MaxPoolPlane<float>(src, dst, want_indices ? indices.data<int64_t>() + p * out_plane : nullptr,
                          p * in_plane, g, storage_order == 1);
      continue;
    }
    TapWalk walk(g);
    ForEachWindow(g, [&](int64_t o, const std::vector<int64_t>& starts,
                         const std::vector<int64_t>& ends) {
      double sum = 0;
      int64_t count = 0;
      ForEachTap(g, starts, &walk, [&](int64_t flat) {
        sum += src[flat];
        ++count;
      });
      if (include_pad) {
        // The window clipped to the padded input counts, padding included.
        count = 1;
        for (size_t d = 0; d < starts.size(); ++d) {
          const int64_t lo = std::max<int64_t>(starts[d], -g.pad_begin[d]);
          const int64_t hi = std::min<int64_t>(ends[d], g.input[d] + g.pad_end[d]);
          count *= (hi - lo + g.dilations[d] - 1) / g.dilations[d];
        }
      }
      dst[o] = count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;
    });
  }
  ctx.set_output(0, std::move(y).value());
  if (want_indices) ctx.set_output(1, std::move(indices));
  return Status::OK();
}

Status MaxPool(KernelContext& ctx) { return Pool(ctx, true); }
Status AveragePool(KernelContext& ctx) { return Pool(ctx, false); }

Status GlobalPool(KernelContext& ctx, bool is_max) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return ctx.Unsupported("non-float pooling");
  if (x.rank() < 3) return ctx.Error("X must be [N, C, spatial...], got " + ShapeToString(x.shape()));
  std::vector<int64_t> out_shape(static_cast<size_t>(x.rank()), 1);
  out_shape[0] = x.dim(0);
  out_shape[1] = x.dim(1);
  Result<Tensor> y = ctx.Allocate(kFloat, out_shape);
  if (!y.ok()) return y.status();
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t inner = planes == 0 ? 0 : x.size() / planes;
  for (int64_t p = 0; p < planes; ++p) {
    const float* src = x.data<float>() + p * inner;
    if (is_max) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < inner; ++i) best = std::isnan(src[i]) ? src[i] : std::max(best, src[i]);
      y->data<float>()[p] = best;
    } else {
      double sum = 0;
      for (int64_t i = 0; i < inner; ++i) sum += src[i];
      y->data<float>()[p] = static_cast<float>(sum / static_cast<double>(inner));
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

Status GlobalAveragePool(KernelContext& ctx) { return GlobalPool(ctx, false); }
Status GlobalMaxPool(KernelContext& ctx) { return GlobalPool(ctx, true); }

// MaxUnpool (opsets 9, 11): X [N, C, D1, ...] float, I int64 of X's shape
// (flat indices into the whole output, as MaxPool's Indices), optional
// output_shape; attributes kernel_shape (required), strides, pads. The
// output, of output_shape or (D - 1) * stride + kernel - pad_begin - pad_end
// per spatial dim, is zero except Y.flat[I[i]] = X[i].
Status MaxUnpool(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (x.dtype() != kFloat) return UnsupportedType(ctx, x);
  if (indices.dtype() != kInt64 || indices.shape() != x.shape()) {
    return ctx.Error("indices must be int64 of X's shape " + ShapeToString(x.shape()) + ", got " +
                     DataTypeName(indices.dtype()) + " " + ShapeToString(indices.shape()));
  }
  if (x.rank() < 3) return ctx.Error("X must have rank >= 3, got " + ShapeToString(x.shape()));
  const size_t spatial = static_cast<size_t>(x.rank() - 2);
  const std::vector<int64_t> kernel = ctx.Ints("kernel_shape");
  std::vector<int64_t> strides = ctx.Ints("strides"), pads = ctx.Ints("pads");
  if (strides.empty()) strides.assign(spatial, 1);
  if (pads.empty()) pads.assign(2 * spatial, 0);
  if (kernel.size() != spatial || strides.size() != spatial || pads.size() != 2 * spatial) {
    return ctx.Error("kernel_shape, strides and pads must have " + std::to_string(spatial) +
                     ", " + std::to_string(spatial) + " and " + std::to_string(2 * spatial) +
                     " values");
  }
  std::vector<int64_t> shape = {x.dim(0), x.dim(1)};
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t in = x.dim(static_cast<int64_t>(d) + 2);
    const int64_t limit = int64_t{1} << 40;
    if (kernel[d] < 1 || strides[d] < 1 || kernel[d] > limit || strides[d] > limit ||
        pads[d] < -limit || pads[d] > limit || pads[d + spatial] < -limit ||
        pads[d + spatial] > limit || in > limit) {
      return ctx.Error("kernel_shape, strides and pads of dim " + std::to_string(d) +
                       " are out of range");
    }
    const int64_t out = (in - 1) * strides[d] + kernel[d] - pads[d] - pads[d + spatial];
    if (out < 0) return ctx.Error("output dim " + std::to_string(d) + " would be negative");
    shape.push_back(out);
  }
  Result<Tensor> y = ctx.Allocate(kFloat, shape);  // zero-filled
  if (!y.ok()) return y.status();
  const int64_t* pi = indices.data<int64_t>();
  for (int64_t i = 0; i < x.size(); ++i) {
    if (pi[i] < 0 || pi[i] >= y->size()) {
      return ctx.Error("index " + std::to_string(pi[i]) + " is outside the output's " +
                       std::to_string(y->size()) + " elements");
    }
    y->data<float>()[pi[i]] = x.data<float>()[i];
  }
  if (ctx.has_input(2)) {
    // A larger output_shape holds the unpooled tensor at its start, zeros
    // after it on each dim (ONNX's reference).
    Result<std::vector<int64_t>> given = ctx.InputAsInts(2);
    if (!given.ok()) return given.status();
    bool fits = given->size() == shape.size();
    for (size_t d = 0; fits && d < shape.size(); ++d) {
      fits = given.value()[d] >= shape[d] && (d >= 2 || given.value()[d] == shape[d]);
    }
    if (!fits) {
      return ctx.Error("output_shape " + ShapeToString(given.value()) + " must be [N, C, ...] " +
                       "and at least the unpooled shape " + ShapeToString(shape));
    }
    Result<Tensor> padded = ctx.Allocate(kFloat, given.value());
    if (!padded.ok()) return padded.status();
    const std::vector<int64_t> from = movement::DenseStrides(shape);
    const std::vector<int64_t> to = movement::DenseStrides(given.value());
    for (int64_t i = 0; i < y->size(); ++i) {
      int64_t at = 0, rest = i;
      for (size_t d = 0; d < shape.size(); ++d) {
        at += rest / from[d] * to[d];
        rest %= from[d];
      }
      padded->data<float>()[at] = y->data<float>()[i];
    }
    y = std::move(padded);
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& PoolingKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"MaxPool", "", 1, 0, MaxPool},
      {"AveragePool", "", 1, 0, AveragePool},
      {"GlobalAveragePool", "", 1, 0, GlobalAveragePool},
      {"GlobalMaxPool", "", 1, 0, GlobalMaxPool},
      {"MaxUnpool", "", 9, 0, MaxUnpool},
  };
  return kKernels;
}

}  // namespace pq::exec
