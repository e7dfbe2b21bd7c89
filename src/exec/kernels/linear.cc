// Linear kernels of pq's executor: MatMul, Gemm, ConvTranspose (Conv is in
// conv.cc). Float products go through Eigen's GEMM; ConvTranspose lowers to
// GEMM + col2im.
#include <algorithm>
#include <cstring>
#include <memory>

#include <Eigen/Core>

#include "exec/broadcast.h"
#include "exec/kernel.h"

namespace pq::exec {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix>;
using Map = Eigen::Map<RowMatrix>;

// C[m x n] = A[m x k] * B[k x n], all row-major and contiguous.
void Gemm(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  Map(c, m, n).noalias() = ConstMap(a, m, k) * ConstMap(b, k, n);
}

template <typename T>
void NaiveGemm(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += a[i * k + p] * b[p * n + j];
      c[i * n + j] = sum;
    }
  }
}

template <typename T>
void BatchedMatMul(const Tensor& a, const Tensor& b, const std::vector<int64_t>& a_shape,
                   const std::vector<int64_t>& b_shape, const std::vector<int64_t>& batch,
                   int64_t m, int64_t k, int64_t n, Tensor* y) {
  const std::vector<int64_t> a_batch(a_shape.begin(), a_shape.end() - 2);
  const std::vector<int64_t> b_batch(b_shape.begin(), b_shape.end() - 2);
  const std::vector<int64_t> sa = BroadcastStrides(a_batch, batch);
  const std::vector<int64_t> sb = BroadcastStrides(b_batch, batch);
  ForEachBroadcast2(batch, sa, sb, [&](int64_t o, int64_t ia, int64_t ib) {
    const T* pa = a.data<T>() + ia * m * k;
    const T* pb = b.data<T>() + ib * k * n;
    T* pc = y->data<T>() + o * m * n;
    if constexpr (std::is_same_v<T, float>) {
      Gemm(pa, pb, pc, m, k, n);
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
  Result<Tensor> y = ctx.Allocate(a.dtype(), out_shape);
  if (!y.ok()) return y.status();
  if (y->size() == 0) {
    ctx.set_output(0, std::move(y).value());
    return Status::OK();
  }
  // A constant 2-D B (the weight case): fold A's batch dims into M.
  if (b_shape.size() == 2 && a.dtype() == kFloat) {
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < a_shape.size(); ++i) rows *= a_shape[i];
    Gemm(a.data<float>(), b.data<float>(), y->data<float>(), rows, k, n);
  } else if (a.dtype() == kFloat) {
    BatchedMatMul<float>(a, b, a_shape, b_shape, batch, m, k, n, &y.value());
  } else if (a.dtype() == kInt32) {
    BatchedMatMul<int32_t>(a, b, a_shape, b_shape, batch, m, k, n, &y.value());
  } else if (a.dtype() == kInt64) {
    BatchedMatMul<int64_t>(a, b, a_shape, b_shape, batch, m, k, n, &y.value());
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
  ConstMap ma(a.data<float>(), a.dim(0), a.dim(1));
  ConstMap mb(b.data<float>(), b.dim(0), b.dim(1));
  if (!trans_a && !trans_b) {
    out.noalias() = ma * mb;
  } else if (!trans_a && trans_b) {
    out.noalias() = ma * mb.transpose();
  } else if (trans_a && !trans_b) {
    out.noalias() = ma.transpose() * mb;
  } else {
    out.noalias() = ma.transpose() * mb.transpose();
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

Status ConvTranspose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (x.dtype() != kFloat || w.dtype() != kFloat) return ctx.Unsupported("non-float ConvTranspose");
  if (x.rank() != 4 && x.rank() != 3) {
    return ctx.Unsupported("only 1-D and 2-D ConvTranspose is supported");
  }
  if (w.rank() != x.rank()) return ctx.Error("W and X have different ranks");
  const size_t rank = static_cast<size_t>(x.rank() - 2);
  const int64_t group = ctx.Int("group", 1);
  const int64_t batch = x.dim(0), channels = x.dim(1);
  if (group <= 0 || w.dim(0) != channels || channels % group != 0) {
    return ctx.Error("W " + ShapeToString(w.shape()) + " does not fit X " +
                     ShapeToString(x.shape()) + " with group " + std::to_string(group));
  }
  const int64_t cg = channels / group, mg = w.dim(1), out_channels = mg * group;
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  std::vector<int64_t> strides = ctx.Ints("strides"), dilations = ctx.Ints("dilations");
  std::vector<int64_t> pads = ctx.Ints("pads"), output_padding = ctx.Ints("output_padding");
  std::vector<int64_t> output_shape = ctx.Ints("output_shape");
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
  const std::string auto_pad = ctx.String("auto_pad", "NOTSET");
  std::vector<int64_t> out(rank), pad_begin(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t full = strides[i] * (in[i] - 1) + output_padding[i] +
                         (kernel[i] - 1) * dilations[i] + 1;
    if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out[i] = output_shape.empty() ? in[i] * strides[i] : output_shape[i];
      const int64_t total = full - out[i];
      pad_begin[i] = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
    } else {
      out[i] = full - pads[i] - pads[i + rank];
      pad_begin[i] = pads[i];
    }
    if (out[i] <= 0) return ctx.Error("the output would be empty");
  }
  std::vector<int64_t> out_shape = {batch, out_channels};
  out_shape.insert(out_shape.end(), out.begin(), out.end());
  Result<Tensor> y = ctx.Allocate(kFloat, out_shape);
  if (!y.ok()) return y.status();
  // Widen 1-D to 2-D with height 1.
  const int64_t ih = rank == 2 ? in[0] : 1, iw = in.back();
  const int64_t kh = rank == 2 ? kernel[0] : 1, kw = kernel.back();
  const int64_t oh = rank == 2 ? out[0] : 1, ow = out.back();
  const int64_t sh = rank == 2 ? strides[0] : 1, sw = strides.back();
  const int64_t dh = rank == 2 ? dilations[0] : 1, dw = dilations.back();
  const int64_t ph = rank == 2 ? pad_begin[0] : 0, pw = pad_begin.back();
  const int64_t rows = mg * kh * kw, pixels = ih * iw;
  std::vector<float> col(static_cast<size_t>(rows * pixels));
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t gi = 0; gi < group; ++gi) {
      // col[mg*kh*kw, H*W] = W_g^T * X_g, with W_g viewed as [cg, mg*kh*kw].
      Map(col.data(), rows, pixels).noalias() =
          ConstMap(w.data<float>() + gi * cg * rows, cg, rows).transpose() *
          ConstMap(x.data<float>() + (n * channels + gi * cg) * pixels, cg, pixels);
      float* yg = y->data<float>() + (n * out_channels + gi * mg) * oh * ow;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t m = r / (kh * kw), i = (r / kw) % kh, j = r % kw;
        float* plane = yg + m * oh * ow;
        const float* src = col.data() + r * pixels;
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
  }
  if (ctx.has_input(2)) {
    const Tensor& b = ctx.input(2);
    if (b.size() != out_channels) return ctx.Error("B does not have one value per output channel");
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t m = 0; m < out_channels; ++m) {
        float* p = y->data<float>() + (n * out_channels + m) * oh * ow;
        for (int64_t i = 0; i < oh * ow; ++i) p[i] += b.data<float>()[m];
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
