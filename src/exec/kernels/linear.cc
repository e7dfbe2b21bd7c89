// Linear kernels of pq's executor: MatMul, Gemm, ConvTranspose (Conv is in
// conv.cc). Float products go through Sgemm (sgemm.h); ConvTranspose lowers to
// GEMM + col2im (1-D and 2-D by one loop, 3-D and more by an N-D one).
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>

#include <Eigen/Core>

#include "exec/broadcast.h"
#include "exec/kernel.h"
#include "exec/kernels/sgemm.h"
#include "exec/kernels/sgemm_ort_order.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMatrix>;

// C[m x n] = A[m x k] * B[k x n], all row-major and contiguous, on `threads`
// threads.
void Gemm(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, int threads) {
  ParallelSgemm(m, n, k, {a, k}, {b, n}, c, n, threads);
}

// Integer C = A * B, wrapping around on overflow (two's complement, as ONNX
// Runtime's integer MatMul does) instead of signed overflow.
template <typename T>
void NaiveGemm(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n) {
  using U = std::make_unsigned_t<T>;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      U sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += static_cast<U>(a[i * k + p]) * static_cast<U>(b[p * n + j]);
      c[i * n + j] = static_cast<T>(sum);
    }
  }
}

// True for a MatMul of a float16 model: its product is summed in ONNX
// Runtime's order (sgemm_ort_order.h), so that its float16 roundings agree.
bool SumsInOrtOrder(const KernelContext& ctx) {
  return ctx.input_type(0) == kFloat16 || ctx.input_type(1) == kFloat16;
}

template <typename T>
void BatchedMatMul(const Tensor& a, const Tensor& b, const std::vector<int64_t>& a_shape,
                   const std::vector<int64_t>& b_shape, const std::vector<int64_t>& batch,
                   int64_t m, int64_t k, int64_t n, int threads, bool ort_order, Tensor* y) {
  const std::vector<int64_t> a_batch(a_shape.begin(), a_shape.end() - 2);
  const std::vector<int64_t> b_batch(b_shape.begin(), b_shape.end() - 2);
  const std::vector<int64_t> sa = BroadcastStrides(a_batch, batch);
  const std::vector<int64_t> sb = BroadcastStrides(b_batch, batch);
  ForEachBroadcast2(batch, sa, sb, [&](int64_t o, int64_t ia, int64_t ib) {
    const T* pa = a.data<T>() + ia * m * k;
    const T* pb = b.data<T>() + ib * k * n;
    T* pc = y->data<T>() + o * m * n;
    if constexpr (std::is_same_v<T, float>) {
      if (ort_order) {
        SgemmInOrtOrder(m, n, k, pa, pb, pc, OrtGemmB::kComputed, threads);
      } else {
        Gemm(pa, pb, pc, m, k, n, threads);
      }
    } else {
      NaiveGemm(pa, pb, pc, m, k, n);
    }
  });
}

Status MatMul(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype()) return ctx.Error("A and B have different types");
  if (a.rank() == 0 || b.rank() == 0) return ctx.Error("MatMul inputs must not be scalars");
  std::vector<int64_t> a_shape = a.shape(), b_shape = b.shape();
  const bool a_vector = a_shape.size() == 1, b_vector = b_shape.size() == 1;
  if (a_vector) a_shape.insert(a_shape.begin(), 1);
  if (b_vector) b_shape.push_back(1);
  const int64_t m = a_shape[a_shape.size() - 2], k = a_shape.back();
  const int64_t n = b_shape.back();
  if (b_shape[b_shape.size() - 2] != k) {
    return ctx.Error("A " + ShapeToString(a.shape()) + " and B " + ShapeToString(b.shape()) +
                     " have different inner dims");
  }
  std::vector<int64_t> batch;
  if (!BroadcastShapes({std::vector<int64_t>(a_shape.begin(), a_shape.end() - 2),
                        std::vector<int64_t>(b_shape.begin(), b_shape.end() - 2)},
                       &batch)) {
    return ctx.Error("batch dims of A " + ShapeToString(a.shape()) + " and B " +
                     ShapeToString(b.shape()) + " do not broadcast");
  }
  std::vector<int64_t> out_shape = batch;
  if (!a_vector) out_shape.push_back(m);
  if (!b_vector) out_shape.push_back(n);
  // Every element is written by the GEMM unless k == 0 (then the product is 0).
  Result<Tensor> y = k == 0 ? ctx.Allocate(a.dtype(), out_shape) : ctx.AllocateUninitialized(a.dtype(), out_shape);
  if (!y.ok()) return y.status();
  if (y->size() == 0 || k == 0) {
    ctx.set_output(0, std::move(y).value());
    return Status::OK();
  }
  // A constant 2-D B (the weight case): fold A's batch dims into M.
  if (b_shape.size() == 2 && a.dtype() == kFloat) {
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < a_shape.size(); ++i) rows *= a_shape[i];
    if (SumsInOrtOrder(ctx)) {
      SgemmInOrtOrder(rows, n, k, a.data<float>(), b.data<float>(), y->data<float>(),
                      ctx.input_constant(1) ? OrtGemmB::kConstant : OrtGemmB::kComputed, ctx.threads());
    } else {
      Gemm(a.data<float>(), b.data<float>(), y->data<float>(), rows, k, n, ctx.threads());
    }
  } else if (a.dtype() == kFloat) {
    BatchedMatMul<float>(a, b, a_shape, b_shape, batch, m, k, n, ctx.threads(), SumsInOrtOrder(ctx), &y.value());
  } else if (a.dtype() == kInt32) {
    BatchedMatMul<int32_t>(a, b, a_shape, b_shape, batch, m, k, n, ctx.threads(), false, &y.value());
  } else if (a.dtype() == kInt64) {
    BatchedMatMul<int64_t>(a, b, a_shape, b_shape, batch, m, k, n, ctx.threads(), false, &y.value());
  } else {
    return ctx.Unsupported("MatMul of this element type");
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

Status GemmKernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != kFloat || b.dtype() != kFloat) return ctx.Unsupported("non-float Gemm");
  if (a.rank() != 2 || b.rank() != 2) return ctx.Error("A and B must be 2-D");
  const bool trans_a = ctx.Int("transA", 0) != 0, trans_b = ctx.Int("transB", 0) != 0;
  const float alpha = ctx.Float("alpha", 1.0f), beta = ctx.Float("beta", 1.0f);
  const int64_t m = trans_a ? a.dim(1) : a.dim(0), k = trans_a ? a.dim(0) : a.dim(1);
  const int64_t n = trans_b ? b.dim(0) : b.dim(1);
  if ((trans_b ? b.dim(1) : b.dim(0)) != k) {
    return ctx.Error("A " + ShapeToString(a.shape()) + " and B " + ShapeToString(b.shape()) +
                     " have different inner dims (transA=" + std::to_string(trans_a) +
                     ", transB=" + std::to_string(trans_b) + ")");
  }
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, {m, n});  // the GEMM writes it all
  if (!y.ok()) return y.status();
  Map out(y->data<float>(), m, n);
  if (m > 0 && n > 0 && k > 0) {
    ParallelSgemm(m, n, k, {a.data<float>(), a.dim(1), trans_a}, {b.data<float>(), b.dim(1), trans_b},
                  y->data<float>(), n, ctx.threads());
  } else {
    out.setZero();
  }
  if (alpha != 1.0f) out *= alpha;
  if (ctx.has_input(2) && beta != 0.0f) {
    const Tensor& c = ctx.input(2);
    if (c.dtype() != kFloat) return ctx.Error("C must be float");
    std::vector<int64_t> target;
    if (!BroadcastShapes({c.shape(), {m, n}}, &target) || target != std::vector<int64_t>{m, n}) {
      return ctx.Error("C " + ShapeToString(c.shape()) + " does not broadcast to [" +
                       std::to_string(m) + ", " + std::to_string(n) + "]");
    }
    const std::vector<int64_t> sc = BroadcastStrides(c.shape(), {m, n});
    const float* pc = c.data<float>();
    float* py = y->data<float>();
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) py[i * n + j] += beta * pc[i * sc[0] + j * sc[1]];
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// The spatial layout of one ConvTranspose group: sizes per axis of its input
// (X's spatial dims), output, kernel, and the strides, dilations and leading
// pads that map input position h and kernel offset k to output h*s - p + k*d.
struct TransposeGeometry {
  std::vector<int64_t> in, out, kernel, strides, dilations, pad_begin;
};

// Adds col[mg * kh * kw, ih * iw] (row (m, kernel offset), column input
// pixel) into y[mg, oh, ow] at the outputs the ConvTranspose maps them to.
// REQUIRES: g has two spatial axes.
void Col2Im2d(const float* col, int64_t mg, const TransposeGeometry& g, float* y) {
  const int64_t ih = g.in[0], iw = g.in[1], oh = g.out[0], ow = g.out[1];
  const int64_t kh = g.kernel[0], kw = g.kernel[1], sh = g.strides[0], sw = g.strides[1];
  const int64_t dh = g.dilations[0], dw = g.dilations[1], ph = g.pad_begin[0], pw = g.pad_begin[1];
  const int64_t rows = mg * kh * kw, pixels = ih * iw;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t m = r / (kh * kw), i = (r / kw) % kh, j = r % kw;
    float* plane = y + m * oh * ow;
    const float* src = col + r * pixels;
    for (int64_t h = 0; h < ih; ++h) {
      const int64_t oy = h * sh - ph + i * dh;
      if (oy < 0 || oy >= oh) continue;
      for (int64_t wx = 0; wx < iw; ++wx) {
        const int64_t ox = wx * sw - pw + j * dw;
        if (ox >= 0 && ox < ow) plane[oy * ow + ox] += src[h * iw + wx];
      }
    }
  }
}

// Col2Im2d for any number of spatial axes (used for 3 and more): adds
// col[mg * taps, pixels] into y[mg, out pixels]. Walks the input in runs
// along the last axis.
void Col2ImNd(const float* col, int64_t mg, const TransposeGeometry& g, float* y) {
  const size_t rank = g.in.size(), last = rank - 1;
  int64_t taps = 1, pixels = 1, out_pixels = 1;
  for (size_t d = 0; d < rank; ++d) {
    taps *= g.kernel[d];
    pixels *= g.in[d];
    out_pixels *= g.out[d];
  }
  const int64_t iw = g.in[last], ow = g.out[last];
  std::vector<int64_t> tap(rank), pixel(rank);
  for (int64_t r = 0; r < mg * taps; ++r) {
    for (int64_t rest = r % taps, d = static_cast<int64_t>(last); d >= 0; --d) {
      tap[d] = rest % g.kernel[d];
      rest /= g.kernel[d];
    }
    float* plane = y + (r / taps) * out_pixels;
    const int64_t ox0 = tap[last] * g.dilations[last] - g.pad_begin[last];
    for (int64_t q = 0; q < pixels; q += iw) {
      // Output line of input line q / iw; -1 when outside the output.
      int64_t line = 0;
      for (int64_t rest = q / iw, d = static_cast<int64_t>(last) - 1; d >= 0; --d) {
        pixel[d] = rest % g.in[d];
        rest /= g.in[d];
      }
      for (size_t d = 0; d < last && line >= 0; ++d) {
        const int64_t o = pixel[d] * g.strides[d] - g.pad_begin[d] + tap[d] * g.dilations[d];
        line = (o < 0 || o >= g.out[d]) ? -1 : line * g.out[d] + o;
      }
      if (line < 0) continue;
      const float* src = col + r * pixels + q;
      float* dst = plane + line * ow;
      for (int64_t wx = 0; wx < iw; ++wx) {
        const int64_t ox = wx * g.strides[last] + ox0;
        if (ox >= 0 && ox < ow) dst[ox] += src[wx];
      }
    }
  }
}

// A ConvTranspose node's problem: X's and W's sizes, the group split and the
// spatial geometry (one entry per spatial axis, 1-D not yet widened).
struct TransposeProblem {
  int64_t batch, channels, out_channels, group;
  int64_t cg, mg;  // input and output channels per group
  TransposeGeometry g;
};

// The spatial attributes of a ConvTranspose node, defaults filled in.
struct TransposeAttrs {
  std::vector<int64_t> strides, dilations, pads, output_padding, output_shape;
};

// Checks X's and W's types, ranks, group and kernel_shape; fills the sizes
// of `p` and g.in and g.kernel.
Status ReadTransposeInputs(const KernelContext& ctx, TransposeProblem* p) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (x.dtype() != kFloat || w.dtype() != kFloat) return ctx.Unsupported("non-float ConvTranspose");
  if (x.rank() < 3) {
    return ctx.Error("X " + ShapeToString(x.shape()) + " has rank " + std::to_string(x.rank()) +
                     "; ConvTranspose takes N x C x spatial dims (rank 3 or more)");
  }
  if (w.rank() != x.rank()) return ctx.Error("W and X have different ranks");
  p->group = ctx.Int("group", 1);
  p->batch = x.dim(0);
  p->channels = x.dim(1);
  if (p->group <= 0 || w.dim(0) != p->channels || p->channels % p->group != 0) {
    return ctx.Error("W " + ShapeToString(w.shape()) + " does not fit X " +
                     ShapeToString(x.shape()) + " with group " + std::to_string(p->group));
  }
  p->cg = p->channels / p->group;
  p->mg = w.dim(1);
  p->out_channels = p->mg * p->group;
  p->g.in.assign(x.shape().begin() + 2, x.shape().end());
  p->g.kernel.assign(w.shape().begin() + 2, w.shape().end());
  const std::vector<int64_t> attr_kernel = ctx.Ints("kernel_shape");
  if (!attr_kernel.empty() && attr_kernel != p->g.kernel) {
    return ctx.Error("kernel_shape " + ShapeToString(attr_kernel) + " differs from W's " +
                     ShapeToString(p->g.kernel));
  }
  return Status::OK();
}

// Reads strides, dilations, pads, output_padding and output_shape (its last
// `in.size()` entries), filling defaults; errors unless each has one entry
// per spatial axis (two for pads) and every value, with `in` and `kernel`,
// lies in the bounds that keep the size arithmetic inside int64.
Status ReadTransposeAttrs(const KernelContext& ctx, const std::vector<int64_t>& in,
                          const std::vector<int64_t>& kernel, TransposeAttrs* a) {
  const size_t rank = in.size();
  std::vector<int64_t>& strides = a->strides;
  std::vector<int64_t>& dilations = a->dilations;
  std::vector<int64_t>& pads = a->pads;
  std::vector<int64_t>& output_padding = a->output_padding;
  std::vector<int64_t>& output_shape = a->output_shape;
  strides = ctx.Ints("strides");
  dilations = ctx.Ints("dilations");
  pads = ctx.Ints("pads");
  output_padding = ctx.Ints("output_padding");
  output_shape = ctx.Ints("output_shape");
  if (strides.empty()) strides.assign(rank, 1);
  if (dilations.empty()) dilations.assign(rank, 1);
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (output_padding.empty()) output_padding.assign(rank, 0);
  if (output_shape.size() > rank) output_shape.erase(output_shape.begin(), output_shape.end() - rank);
  if (strides.size() != rank || dilations.size() != rank || pads.size() != 2 * rank ||
      output_padding.size() != rank || (!output_shape.empty() && output_shape.size() != rank)) {
    return ctx.Error("strides, dilations, pads, output_padding or output_shape do not match " +
                     std::to_string(rank) + " spatial dims");
  }
  // Bounds that keep the size arithmetic below inside int64.
  constexpr int64_t kMaxWindowValue = int64_t{1} << 30;
  for (size_t i = 0; i < rank; ++i) {
    const bool positive = strides[i] > 0 && dilations[i] > 0;
    const bool non_negative = pads[i] >= 0 && pads[i + rank] >= 0 && output_padding[i] >= 0 &&
                              (output_shape.empty() || output_shape[i] >= 0);
    const bool bounded = strides[i] <= kMaxWindowValue && dilations[i] <= kMaxWindowValue &&
                         pads[i] <= kMaxWindowValue && pads[i + rank] <= kMaxWindowValue &&
                         output_padding[i] <= kMaxWindowValue && in[i] <= kMaxWindowValue &&
                         kernel[i] <= kMaxWindowValue &&
                         (output_shape.empty() || output_shape[i] <= kMaxWindowValue);
    if (!positive || !non_negative || !bounded) {
      return ctx.Error("strides and dilations must be in [1, 2^30], pads, output_padding, "
                       "output_shape and spatial sizes in [0, 2^30]");
    }
  }
  return Status::OK();
}

// Fills g's out, strides, dilations and pad_begin from `a` and auto_pad
// (output_shape or SAME_* choose the size and split the padding).
// REQUIRES: g.in and g.kernel set, `a` checked by ReadTransposeAttrs.
// Errors when an output axis would be empty.
Status TransposeOutputSize(const KernelContext& ctx, const TransposeAttrs& a, TransposeGeometry* g) {
  const size_t rank = g->in.size();
  const std::vector<int64_t>& in = g->in;
  const std::vector<int64_t>& kernel = g->kernel;
  const std::string auto_pad = ctx.String("auto_pad", "NOTSET");
  g->out.assign(rank, 0);
  g->pad_begin.assign(rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t full = a.strides[i] * (in[i] - 1) + a.output_padding[i] +
                         (kernel[i] - 1) * a.dilations[i] + 1;
    if (!a.output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g->out[i] = a.output_shape.empty() ? in[i] * a.strides[i] : a.output_shape[i];
      const int64_t total = full - g->out[i];
      g->pad_begin[i] = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
    } else {
      g->out[i] = full - a.pads[i] - a.pads[i + rank];
      g->pad_begin[i] = a.pads[i];
    }
    if (g->out[i] <= 0) return ctx.Error("the output would be empty");
  }
  g->strides = a.strides;
  g->dilations = a.dilations;
  return Status::OK();
}

// Checks the ConvTranspose node and fills `p` (1-D not yet widened).
Status ReadTransposeProblem(const KernelContext& ctx, TransposeProblem* p) {
  PQ_RETURN_IF_ERROR(ReadTransposeInputs(ctx, p));
  TransposeAttrs attrs;
  PQ_RETURN_IF_ERROR(ReadTransposeAttrs(ctx, p->g.in, p->g.kernel, &attrs));
  return TransposeOutputSize(ctx, attrs, &p->g);
}

// Runs 1-D as 2-D with height 1: puts a size-1, unpadded axis first.
void WidenTo2d(TransposeGeometry* g) {
  for (std::vector<int64_t>* v : {&g->in, &g->out, &g->kernel, &g->strides, &g->dilations}) {
    v->insert(v->begin(), 1);
  }
  g->pad_begin.insert(g->pad_begin.begin(), 0);
}

// Adds each (image, group)'s W_g^T * X_g, scattered by col2im, into y.
// `rows` is mg times the kernel's taps, `pixels` and `out_pixels` the
// products of g.in and g.out. REQUIRES: y zeroed, shaped [batch,
// out_channels, g.out...], g widened to 2-D or more.
void TransposeGroups(const Tensor& x, const Tensor& w, const TransposeProblem& p, int64_t rows,
                     int64_t pixels, int64_t out_pixels, Tensor* y) {
  // Without outputs or input channels there is nothing to multiply (and X or
  // W may be empty with sizes that bound nothing).
  const bool multiply = y->size() > 0 && p.cg > 0;
  std::vector<float> col(multiply ? static_cast<size_t>(rows * pixels) : 0);
  for (int64_t n = 0; n < p.batch && multiply; ++n) {
    for (int64_t gi = 0; gi < p.group; ++gi) {
      // col[mg*taps, pixels] = W_g^T * X_g, with W_g viewed as [cg, mg*taps].
      Sgemm(rows, pixels, p.cg, {w.data<float>() + gi * p.cg * rows, rows, true},
            {x.data<float>() + (n * p.channels + gi * p.cg) * pixels, pixels}, col.data(), pixels);
      float* yg = y->data<float>() + (n * p.out_channels + gi * p.mg) * out_pixels;
      if (p.g.in.size() == 2) {
        Col2Im2d(col.data(), p.mg, p.g, yg);
      } else {
        Col2ImNd(col.data(), p.mg, p.g, yg);
      }
    }
  }
}

Status ConvTranspose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  TransposeProblem p;
  PQ_RETURN_IF_ERROR(ReadTransposeProblem(ctx, &p));
  std::vector<int64_t> out_shape = {p.batch, p.out_channels};
  out_shape.insert(out_shape.end(), p.g.out.begin(), p.g.out.end());
  Result<Tensor> y = ctx.Allocate(kFloat, out_shape);
  if (!y.ok()) return y.status();
  if (p.g.in.size() == 1) WidenTo2d(&p.g);
  int64_t pixels = 1, out_pixels = 1, rows = p.mg;
  for (size_t d = 0; d < p.g.in.size(); ++d) {
    if (__builtin_mul_overflow(pixels, p.g.in[d], &pixels) ||
        __builtin_mul_overflow(out_pixels, p.g.out[d], &out_pixels) ||
        __builtin_mul_overflow(rows, p.g.kernel[d], &rows)) {
      return ctx.Error("X " + ShapeToString(x.shape()) + " with W " + ShapeToString(w.shape()) +
                       " gives sizes beyond int64");
    }
  }
  if (ctx.has_input(2) && ctx.input(2).size() != p.out_channels) {
    return ctx.Error("B does not have one value per output channel");
  }
  TransposeGroups(x, w, p, rows, pixels, out_pixels, &y.value());
  if (ctx.has_input(2)) {
    const Tensor& b = ctx.input(2);
    for (int64_t n = 0; n < p.batch; ++n) {
      for (int64_t m = 0; m < p.out_channels; ++m) {
        float* dst = y->data<float>() + (n * p.out_channels + m) * out_pixels;
        for (int64_t i = 0; i < out_pixels; ++i) dst[i] += b.data<float>()[m];
      }
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& LinearKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"MatMul", "", 1, 0, MatMul},
      {"Gemm", "", 7, 0, GemmKernel},
      {"ConvTranspose", "", 1, 0, ConvTranspose},
  };
  return kKernels;
}

}  // namespace pq::exec
