// MatMulInteger and QLinearMatMul (ai.onnx).
// Both compute (A - a_zero_point) x (B - b_zero_point) exactly in int32
// with numpy.matmul broadcasting; QLinearMatMul then requantizes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/quantized_gemm.h"
#include "exec/kernels/quantized_util.h"

namespace pq::exec {
namespace quantized {
namespace {

// An operand's optional zero point, resolved against the product's shape.
struct OptionalParam {
  const Tensor* tensor = nullptr;  // null: absent (zero)
  MatrixParam layout;
};

// Resolves the optional zero point at input `i` of operand A (`rows`) or B,
// which must have the operand's type `operand_type`.
Result<OptionalParam> ResolveZeroPoint(const KernelContext& ctx, int i, int32_t operand_type,
                                       const MatMulShape& s, bool rows,
                                       const std::string& what) {
  OptionalParam zp;
  if (!ctx.has_input(i)) return zp;
  if (ctx.input(i).dtype() != operand_type) {
    return ctx.Error(what + " must have its operand's type " + DataTypeName(operand_type) +
                     ", got " + DataTypeName(ctx.input(i).dtype()));
  }
  Result<MatrixParam> layout = ResolveMatrixParam(ctx, ctx.input(i), s, rows, what);
  if (!layout.ok()) return layout.status();
  zp.tensor = &ctx.input(i);
  zp.layout = std::move(layout).value();
  return zp;
}

// out[batch, M, N] = (A - a_zp) x (B - b_zp) in int32 (wrapping).
void IntegerMatMul(const Tensor& a, const OptionalParam& a_zp, const Tensor& b,
                   const OptionalParam& b_zp, const MatMulShape& s, int threads,
                   int32_t* out) {
  const int64_t m = s.m, k = s.k, n = s.n;
  std::vector<int32_t> a32(static_cast<size_t>(m * k)), b32(static_cast<size_t>(k * n));
  for (int64_t bt = 0; bt < s.batch_count(); ++bt) {
    const int64_t a_base = s.a_matrix[static_cast<size_t>(bt)] * m * k;
    const int64_t b_base = s.b_matrix[static_cast<size_t>(bt)] * k * n;
    for (int64_t i = 0; i < m; ++i) {
      const int32_t zp = a_zp.tensor != nullptr ? IntAt(*a_zp.tensor, a_zp.layout.At(bt, i, 0)) : 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        a32[static_cast<size_t>(i * k + kk)] = IntAt(a, a_base + i * k + kk) - zp;
      }
    }
    std::vector<int32_t> col_zp(static_cast<size_t>(n), 0);
    if (b_zp.tensor != nullptr) {
      for (int64_t j = 0; j < n; ++j) {
        col_zp[static_cast<size_t>(j)] = IntAt(*b_zp.tensor, b_zp.layout.At(bt, 0, j));
      }
    }
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t j = 0; j < n; ++j) {
        b32[static_cast<size_t>(kk * n + j)] = IntAt(b, b_base + kk * n + j) - col_zp[static_cast<size_t>(j)];
      }
    }
    GemmInt32(a32.data(), b32.data(), out + bt * m * n, m, k, n, threads);
  }
}

// Inputs A, B (uint8 or int8), a_zero_point, b_zero_point (optional: one
// element, per row of A, per column of B). Output int32.
Status MatMulInteger(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "A", {kUint8, kInt8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "B", {kUint8, kInt8}));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Result<MatMulShape> s = ResolveMatMul(ctx, a.shape(), b.shape());
  if (!s.ok()) return s.status();
  Result<OptionalParam> a_zp = ResolveZeroPoint(ctx, 2, a.dtype(), s.value(), true, "a_zero_point");
  if (!a_zp.ok()) return a_zp.status();
  Result<OptionalParam> b_zp = ResolveZeroPoint(ctx, 3, b.dtype(), s.value(), false, "b_zero_point");
  if (!b_zp.ok()) return b_zp.status();
  Result<Tensor> y = ctx.Allocate(kInt32, s->out_shape);
  if (!y.ok()) return y.status();
  IntegerMatMul(a, a_zp.value(), b, b_zp.value(), s.value(), ctx.threads(), y->data<int32_t>());
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// Inputs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
// y_zero_point. a/b scales and zero points are per-tensor, per row of a or
// per column of b; y's are per-tensor. Computes, as ONNX's reference,
// y = saturate(round_half_to_even(acc * m) + y_zero_point) with the int32
// product acc and the float multiplier m = float(a_scale * b_scale) / y_scale;
// acc * m is formed in double.
Status QLinearMatMul(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1, 3, 4, 6}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "a", {kUint8, kInt8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "a_scale", {kFloat}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 3, "b", {kUint8, kInt8}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 4, "b_scale", {kFloat}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 6, "y_scale", {kFloat}));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  const Tensor& y_scale = ctx.input(6);
  Result<MatMulShape> s = ResolveMatMul(ctx, a.shape(), b.shape());
  if (!s.ok()) return s.status();
  Result<MatrixParam> a_scale = ResolveMatrixParam(ctx, ctx.input(1), s.value(), true, "a_scale");
  if (!a_scale.ok()) return a_scale.status();
  Result<MatrixParam> b_scale = ResolveMatrixParam(ctx, ctx.input(4), s.value(), false, "b_scale");
  if (!b_scale.ok()) return b_scale.status();
  Result<OptionalParam> a_zp = ResolveZeroPoint(ctx, 2, a.dtype(), s.value(), true, "a_zero_point");
  if (!a_zp.ok()) return a_zp.status();
  Result<OptionalParam> b_zp = ResolveZeroPoint(ctx, 5, b.dtype(), s.value(), false, "b_zero_point");
  if (!b_zp.ok()) return b_zp.status();
  if (y_scale.size() != 1) {
    return ctx.Error("y_scale must hold one element (per-tensor), got shape " +
                     ShapeToString(y_scale.shape()));
  }
  int32_t out_type = a.dtype();
  int32_t y_zp = 0;
  if (ctx.has_input(7)) {
    PQ_RETURN_IF_ERROR(CheckType(ctx, 7, "y_zero_point", {kUint8, kInt8}));
    if (ctx.input(7).size() != 1) {
      return ctx.Error("y_zero_point must hold one element (per-tensor), got shape " +
                       ShapeToString(ctx.input(7).shape()));
    }
    out_type = ctx.input(7).dtype();
    y_zp = IntAt(ctx.input(7), 0);
  }
  const int64_t m = s->m, n = s->n;
  std::vector<int32_t> acc(static_cast<size_t>(s->batch_count() * m * n));
  IntegerMatMul(a, a_zp.value(), b, b_zp.value(), s.value(), ctx.threads(), acc.data());
  Result<Tensor> y = ctx.Allocate(out_type, s->out_shape);
  if (!y.ok()) return y.status();
  const IntRange range = *QuantRange(out_type);
  const float* as = ctx.input(1).data<float>();
  const float* bs = ctx.input(4).data<float>();
  const float ys = y_scale.data<float>()[0];
  Tensor& out = y.value();
  for (int64_t bt = 0; bt < s->batch_count(); ++bt) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t o = (bt * m + i) * n + j;
        const float multiplier = (as[a_scale->At(bt, i, 0)] * bs[b_scale->At(bt, 0, j)]) / ys;
        const double v = static_cast<double>(acc[static_cast<size_t>(o)]) * multiplier;
        StoreInt8(&out, o, RoundAddSaturate(v, y_zp, range));
      }
    }
  }
  ctx.set_output(0, std::move(out));
  return Status::OK();
}

}  // namespace
}  // namespace quantized

const std::vector<KernelDef>& QuantizedMatMulKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"MatMulInteger", "", 10, 0, quantized::MatMulInteger},
      {"QLinearMatMul", "", 10, 0, quantized::QLinearMatMul},
  };
  return kKernels;
}

}  // namespace pq::exec
