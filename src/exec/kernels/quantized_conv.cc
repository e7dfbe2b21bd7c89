// ConvInteger and QLinearConv (ai.onnx).
// 1-D (N, C, L) and 2-D (N, C, H, W) convolutions computed exactly in int32
// by an integer im2col and the int32 GEMM of quantized_gemm.h.

#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/quantized_gemm.h"
#include "exec/kernels/quantized_util.h"

namespace pq::exec {
namespace quantized {
namespace {

// The geometry of a convolution; a 1-D convolution is a 2-D one with H = 1.
struct ConvGeometry {
  int64_t batch = 0, channels = 0, in_h = 1, in_w = 0;
  int64_t out_channels = 0, group = 1, kernel_h = 1, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t out_h = 1, out_w = 0;
  std::vector<int64_t> out_shape;
};

// Output length and leading pad of one spatial dim; false if the output
// would be empty.
bool ConvDim(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
             int64_t pad_end, const std::string& auto_pad, int64_t* out, int64_t* lead) {
  const int64_t effective = dilation * (kernel - 1) + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    *out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (*out - 1) * stride + effective - in);
    *lead = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    return *out > 0;
  }
  if (auto_pad == "VALID") pad_begin = pad_end = 0;
  *lead = pad_begin;
  const int64_t span = in + pad_begin + pad_end - effective;
  if (span < 0) return false;
  *out = span / stride + 1;
  return true;
}

// Reads the conv attributes for x of shape `x` and weights of shape `w`.
Result<ConvGeometry> ResolveConvGeometry(const KernelContext& ctx,
                                         const std::vector<int64_t>& x,
                                         const std::vector<int64_t>& w) {
  if (x.size() != 3 && x.size() != 4) {
    return ctx.Unsupported("only 1-D and 2-D convolutions are supported, x has shape " +
                           ShapeToString(x));
  }
  if (w.size() != x.size()) {
    return ctx.Error("w has shape " + ShapeToString(w) + ", expected rank " +
                     std::to_string(x.size()) + " like x " + ShapeToString(x));
  }
  const size_t spatial = x.size() - 2;
  ConvGeometry g;
  g.batch = x[0];
  g.channels = x[1];
  g.out_channels = w[0];
  g.group = ctx.Int("group", 1);
  if (g.group < 1 || w[1] * g.group != g.channels || g.out_channels % g.group != 0) {
    return ctx.Error("w " + ShapeToString(w) + " and group " + std::to_string(g.group) +
                     " do not fit x " + ShapeToString(x) +
                     " (expected w[1] * group == C and group dividing M)");
  }
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  const std::vector<int64_t> kernel_attr = ctx.Ints("kernel_shape");
  if (!kernel_attr.empty() && kernel_attr != kernel) {
    return ctx.Error("kernel_shape " + ShapeToString(kernel_attr) + " does not match w " +
                     ShapeToString(w));
  }
  std::vector<int64_t> strides = ctx.Ints("strides"), dilations = ctx.Ints("dilations"),
                       pads = ctx.Ints("pads");
  if (strides.empty()) strides.assign(spatial, 1);
  if (dilations.empty()) dilations.assign(spatial, 1);
  if (pads.empty()) pads.assign(2 * spatial, 0);
  if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial) {
    return ctx.Error("strides, dilations and pads must have " + std::to_string(spatial) + ", " +
                     std::to_string(spatial) + " and " + std::to_string(2 * spatial) + " values");
  }
  for (size_t d = 0; d < spatial; ++d) {
    if (strides[d] < 1 || dilations[d] < 1 || pads[d] < 0 || pads[d + spatial] < 0 ||
        kernel[d] < 1) {
      return ctx.Error("strides, dilations and kernel dims must be >= 1 and pads >= 0");
    }
  }
  const std::string auto_pad = ctx.String("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER") {
    return ctx.Error("auto_pad '" + auto_pad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  }
  // The last spatial dim is W; a 2-D conv also has H.
  const size_t wd = spatial - 1;
  g.in_w = x[2 + wd];
  g.kernel_w = kernel[wd];
  g.stride_w = strides[wd];
  g.dilation_w = dilations[wd];
  bool ok = ConvDim(g.in_w, g.kernel_w, g.stride_w, g.dilation_w, pads[wd], pads[wd + spatial],
                    auto_pad, &g.out_w, &g.pad_left);
  if (spatial == 2) {
    g.in_h = x[2];
    g.kernel_h = kernel[0];
    g.stride_h = strides[0];
    g.dilation_h = dilations[0];
    ok = ok && ConvDim(g.in_h, g.kernel_h, g.stride_h, g.dilation_h, pads[0], pads[2], auto_pad,
                       &g.out_h, &g.pad_top);
  }
  if (!ok) {
    return ctx.Error("the kernel " + ShapeToString(kernel) + " with dilations and pads does not fit x " +
                     ShapeToString(x) + " (empty output)");
  }
  g.out_shape = {g.batch, g.out_channels};
  if (spatial == 2) g.out_shape.push_back(g.out_h);
  g.out_shape.push_back(g.out_w);
  return g;
}

// y[N, M, out_h, out_w] = conv(x, w) (+ bias[M] if not null) in int32
// (wrapping). x: [N, C, H, W] already minus its zero point; padding reads
// as 0. w: [M, C/group * kernel_h * kernel_w] already minus its zero points.
void ConvInt32(const ConvGeometry& g, const int32_t* x, const int32_t* w,
               const int32_t* bias, int threads, int32_t* y) {
  const int64_t cg = g.channels / g.group, mg = g.out_channels / g.group;
  const int64_t kdim = cg * g.kernel_h * g.kernel_w, spatial = g.out_h * g.out_w;
  std::vector<int32_t> col(static_cast<size_t>(kdim * spatial));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t gi = 0; gi < g.group; ++gi) {
      for (int64_t c = 0; c < cg; ++c) {
        const int32_t* plane = x + (n * g.channels + gi * cg + c) * g.in_h * g.in_w;
        for (int64_t ki = 0; ki < g.kernel_h; ++ki) {
          for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
            int32_t* row = col.data() + ((c * g.kernel_h + ki) * g.kernel_w + kj) * spatial;
            for (int64_t oy = 0; oy < g.out_h; ++oy) {
              const int64_t iy = oy * g.stride_h - g.pad_top + ki * g.dilation_h;
              for (int64_t ox = 0; ox < g.out_w; ++ox) {
                const int64_t ix = ox * g.stride_w - g.pad_left + kj * g.dilation_w;
                const bool inside = iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
                row[oy * g.out_w + ox] = inside ? plane[iy * g.in_w + ix] : 0;
              }
            }
          }
        }
      }
      int32_t* out = y + (n * g.out_channels + gi * mg) * spatial;
      GemmInt32(w + gi * mg * kdim, col.data(), out, mg, kdim, spatial, threads);
      if (bias == nullptr) continue;
      for (int64_t m = 0; m < mg; ++m) {
        const uint32_t b = static_cast<uint32_t>(bias[gi * mg + m]);
        for (int64_t p = 0; p < spatial; ++p) {
          out[m * spatial + p] = static_cast<int32_t>(static_cast<uint32_t>(out[m * spatial + p]) + b);
        }
      }
    }
  }
}

// Returns w minus its zero point (input `zp_index`, optional: one element
// or one per output channel), flattened to [M, rest], as int32.
Result<std::vector<int32_t>> WeightsMinusZeroPoint(const KernelContext& ctx, const Tensor& w,
                                                   int zp_index, const std::string& what) {
  std::vector<int32_t> out = WidenMinus(w, 0);
  if (!ctx.has_input(zp_index)) return out;
  const Tensor& zp = ctx.input(zp_index);
  if (zp.dtype() != w.dtype()) {
    return ctx.Error(what + " must have w's type " + DataTypeName(w.dtype()) + ", got " +
                     DataTypeName(zp.dtype()));
  }
  const int64_t m = w.dim(0);
  if (zp.size() != 1 && !(zp.rank() == 1 && zp.dim(0) == m)) {
    return ctx.Error(what + " has shape " + ShapeToString(zp.shape()) +
                     ", expected one element or [" + std::to_string(m) + "] (per output channel)");
  }
  const int64_t per_channel = m > 0 ? w.size() / m : 0;
  for (int64_t c = 0; c < m; ++c) {
    const int32_t z = IntAt(zp, zp.size() == 1 ? 0 : c);
    for (int64_t i = 0; i < per_channel; ++i) out[static_cast<size_t>(c * per_channel + i)] -= z;
  }
  return out;
}

// Returns the per-tensor zero point at input `i` (0 if absent), which must
// hold one element of type `type`.
Result<int32_t> ScalarZeroPoint(const KernelContext& ctx, int i, int32_t type,
                                const std::string& what) {
  if (!ctx.has_input(i)) return 0;
  const Tensor& zp = ctx.input(i);
  if (zp.dtype() != type) {
    return ctx.Error(what + " must have type " + DataTypeName(type) + ", got " +
                     DataTypeName(zp.dtype()));
  }
  if (zp.size() != 1) {
    return ctx.Error(what + " must hold one element (per-tensor), got shape " +
                     ShapeToString(zp.shape()));
  }
  return IntAt(zp, 0);
}

// Inputs x, w (uint8 or int8), x_zero_point (optional, per-tensor),
// w_zero_point (optional, per-tensor or per output channel). Output int32.
Status ConvInteger(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "x", {kUint8, kInt8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "w", {kUint8, kInt8}));
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  Result<ConvGeometry> g = ResolveConvGeometry(ctx, x.shape(), w.shape());
  if (!g.ok()) return g.status();
  Result<int32_t> x_zp = ScalarZeroPoint(ctx, 2, x.dtype(), "x_zero_point");
  if (!x_zp.ok()) return x_zp.status();
  Result<std::vector<int32_t>> w32 = WeightsMinusZeroPoint(ctx, w, 3, "w_zero_point");
  if (!w32.ok()) return w32.status();
  Result<Tensor> y = ctx.Allocate(kInt32, g->out_shape);
  if (!y.ok()) return y.status();
  const std::vector<int32_t> x32 = WidenMinus(x, x_zp.value());
  ConvInt32(g.value(), x32.data(), w32->data(), nullptr, ctx.threads(), y->data<int32_t>());
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// Inputs x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, B (optional int32 [M]). w's scale and zero point are
// per-tensor or per output channel, the others per-tensor. As ONNX's
// reference: y = saturate(round_half_to_even(acc * m[c]) + y_zero_point)
// with acc the int32 convolution plus B and m[c] = float(x_scale *
// w_scale[c]) / y_scale; acc * m[c] is formed in double.
Status QLinearConv(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1, 3, 4, 6}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "x", {kUint8, kInt8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "x_scale", {kFloat}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 3, "w", {kUint8, kInt8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 4, "w_scale", {kFloat}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 6, "y_scale", {kFloat}));
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  Result<ConvGeometry> g = ResolveConvGeometry(ctx, x.shape(), w.shape());
  if (!g.ok()) return g.status();
  const int64_t m = g->out_channels;
  const Tensor& w_scale = ctx.input(4);
  if (w_scale.size() != 1 && !(w_scale.rank() == 1 && w_scale.dim(0) == m)) {
    return ctx.Error("w_scale has shape " + ShapeToString(w_scale.shape()) +
                     ", expected one element or [" + std::to_string(m) + "] (per output channel)");
  }
  if (ctx.input(1).size() != 1 || ctx.input(6).size() != 1) {
    return ctx.Error("x_scale and y_scale must hold one element (per-tensor)");
  }
  Result<int32_t> x_zp = ScalarZeroPoint(ctx, 2, x.dtype(), "x_zero_point");
  if (!x_zp.ok()) return x_zp.status();
  Result<std::vector<int32_t>> w32 = WeightsMinusZeroPoint(ctx, w, 5, "w_zero_point");
  if (!w32.ok()) return w32.status();
  if (ctx.has_input(7)) PQ_RETURN_IF_ERROR(CheckType(ctx, 7, "y_zero_point", {kUint8, kInt8}));
  const int32_t out_type = ctx.has_input(7) ? ctx.input(7).dtype() : x.dtype();
  Result<int32_t> y_zp = ScalarZeroPoint(ctx, 7, out_type, "y_zero_point");
  if (!y_zp.ok()) return y_zp.status();
  const int32_t* bias = nullptr;
  if (ctx.has_input(8)) {
    PQ_RETURN_IF_ERROR(CheckType(ctx, 8, "B", {kInt32}));
    if (ctx.input(8).rank() != 1 || ctx.input(8).dim(0) != m) {
      return ctx.Error("B has shape " + ShapeToString(ctx.input(8).shape()) + ", expected [" +
                       std::to_string(m) + "]");
    }
    bias = ctx.input(8).data<int32_t>();
  }
  Result<Tensor> y = ctx.Allocate(out_type, g->out_shape);
  if (!y.ok()) return y.status();
  std::vector<int32_t> acc(static_cast<size_t>(y->size()));
  const std::vector<int32_t> x32 = WidenMinus(x, x_zp.value());
  ConvInt32(g.value(), x32.data(), w32->data(), bias, ctx.threads(), acc.data());
  const float xs = ctx.input(1).data<float>()[0];
  const float ys = ctx.input(6).data<float>()[0];
  const IntRange range = *QuantRange(out_type);
  const int64_t spatial = g->out_h * g->out_w;
  Tensor& out = y.value();
  for (int64_t n = 0; n < g->batch; ++n) {
    for (int64_t c = 0; c < m; ++c) {
      const float multiplier = (xs * w_scale.data<float>()[w_scale.size() == 1 ? 0 : c]) / ys;
      for (int64_t p = 0; p < spatial; ++p) {
        const int64_t o = (n * m + c) * spatial + p;
        const double v = static_cast<double>(acc[static_cast<size_t>(o)]) * multiplier;
        StoreInt8(&out, o, RoundAddSaturate(v, y_zp.value(), range));
      }
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::OK();
}

}  // namespace
}  // namespace quantized

const std::vector<KernelDef>& QuantizedConvKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"ConvInteger", "", 10, 0, quantized::ConvInteger},
      {"QLinearConv", "", 10, 0, quantized::QLinearConv},
  };
  return kKernels;
}

}  // namespace pq::exec
