// Unary float kernels evaluated with Eigen's vectorized array functions
// (a few ulp from libm, several times faster than a scalar libm call per
// element). Only functions whose Eigen form saturates correctly at +-inf are
// routed here (erf, tanh, logistic); NaN inputs are restored afterwards because
// Eigen's range clamping would turn them into numbers.
#ifndef PQ_EXEC_KERNELS_VECTORIZED_UNARY_H_
#define PQ_EXEC_KERNELS_VECTORIZED_UNARY_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"

namespace pq::exec {

// out = fn(x) over a float tensor, in fixed chunks (threads only change who
// computes a chunk, never a value). `fn` maps an Eigen array expression.
template <typename ArrayFn>
Status MapFloatVectorized(KernelContext& ctx, ArrayFn fn) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return UnsupportedType(ctx, x);
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, x.shape());
  if (!out.ok()) return out.status();
  const float* in = x.data<float>();
  float* y = out->data<float>();
  const int64_t n = x.size();
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) num_threads(ctx.threads()) if (chunks > 1 && ctx.threads() > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk, len = std::min(kChunk, n - begin);
    Eigen::Map<Eigen::ArrayXf>(y + begin, len) = fn(Eigen::Map<const Eigen::ArrayXf>(in + begin, len));
    for (int64_t i = begin; i < begin + len; ++i) {
      if (std::isnan(in[i])) y[i] = in[i];
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

inline Status ErfVectorized(KernelContext& ctx) {
  return MapFloatVectorized(ctx, [](const auto& a) { return a.erf(); });
}

inline Status TanhVectorized(KernelContext& ctx) {
  return MapFloatVectorized(ctx, [](const auto& a) { return a.tanh(); });
}

// The logistic function as ONNX Runtime's CPU provider computes it (MLAS,
// x86-64): x clamped to [-18, 18], then Eigen's rational approximation (the
// coefficients below are Eigen's scalar_logistic_op<float>) evaluated with
// fused multiply-adds, 0.5 added, clamped to [0, 1]. It differs from Eigen's
// own below -9, where Eigen switches to exp(x). NaN stays NaN.
inline float OrtLogistic(float x) {
  const float v = std::min(std::max(x, -18.0f), 18.0f);
  if (std::isnan(x)) return x;
  const float v2 = v * v;
  float p = std::fma(v2, 4.37031012579801e-11f, 1.15627324459942e-07f);
  p = std::fma(p, v2, 6.08574864600143e-05f);
  p = std::fma(p, v2, 8.51377133304701e-03f);
  p = std::fma(p, v2, 2.48287947061529e-01f);
  p = p * v;
  float q = std::fma(v2, 6.10247389755681e-13f, 5.76102136993427e-09f);
  q = std::fma(q, v2, 6.29106785017040e-06f);
  q = std::fma(q, v2, 1.70198817374094e-03f);
  q = std::fma(q, v2, 1.16817656904453e-01f);
  q = std::fma(q, v2, 9.93151921023180e-01f);
  return std::min(std::max(p / q + 0.5f, 0.0f), 1.0f);
}

// Eigen's logistic saturates to 1 at +inf and 0 at -inf. A float16 model's
// Sigmoid uses OrtLogistic instead: ONNX Runtime computes it in float with
// MLAS, and the two differ in the last bits below -9, where a float16
// rounding then flips.
inline Status SigmoidVectorized(KernelContext& ctx) {
  if (ctx.input_type(0) == kFloat16) {
    return MapFloatVectorized(ctx, [](const auto& a) { return a.unaryExpr([](float x) { return OrtLogistic(x); }); });
  }
  return MapFloatVectorized(ctx, [](const auto& a) { return a.logistic(); });
}

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_VECTORIZED_UNARY_H_
