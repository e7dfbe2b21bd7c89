// Unary elementwise kernels of pq's executor: math functions, activations,
// IsNaN/IsInf and Clip.
//
// Scalar functions live in elementwise_math.h (Erf and Tanh vectorised in
// vectorized_unary.h), loops in elementwise_util.h.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_math.h"
#include "exec/kernels/elementwise_util.h"
#include "exec/kernels/vectorized_unary.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

// ------------------------------------------------------------ unary ops

// out = fn(x) for a float input.
template <typename Fn>
Status MapFloat(KernelContext& ctx, Fn fn) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return UnsupportedType(ctx, x);
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, x.shape());  // MapElements writes all
  if (!out.ok()) return out.status();
  MapElements<float, float>(x, &out.value(), ctx.threads(), fn);
  return SetResult(ctx, 0, std::move(out));
}

template <float (*F)(float)>
Status FloatUnary(KernelContext& ctx) {
  return MapFloat(ctx, F);
}

float Sqrt(float x) { return std::sqrt(x); }
float Exp(float x) { return std::exp(x); }
float Log(float x) { return std::log(x); }
float Floor(float x) { return std::floor(x); }
float Ceil(float x) { return std::ceil(x); }
float Round(float x) { return std::nearbyint(x); }  // half to even
float Sin(float x) { return std::sin(x); }
float Cos(float x) { return std::cos(x); }
float Tan(float x) { return std::tan(x); }
float Asin(float x) { return std::asin(x); }
float Acos(float x) { return std::acos(x); }
float Atan(float x) { return std::atan(x); }
float Sinh(float x) { return std::sinh(x); }
float Cosh(float x) { return std::cosh(x); }
float Asinh(float x) { return std::asinh(x); }
float Acosh(float x) { return std::acosh(x); }
float Atanh(float x) { return std::atanh(x); }

struct AbsOp {
  template <typename T> static T Apply(T x) {
    if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
    if constexpr (std::is_unsigned_v<T>) return x;
    return x < 0 ? WrapSub<T>(0, x) : x;
  }
};
struct NegOp {
  template <typename T> static T Apply(T x) {
    if constexpr (std::is_floating_point_v<T>) return -x;
    return WrapSub<T>(0, x);
  }
};
struct SignOp {
  template <typename T> static T Apply(T x) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(x)) return x;
    }
    return static_cast<T>((x > 0) - (x < 0));
  }
};
// Relu keeps NaN (NaN < 0 is false).
struct ReluOp {
  template <typename T> static T Apply(T x) { return x < 0 ? T{0} : x; }
};

// A unary op defined for every numeric type.
template <typename Op>
Status NumericUnary(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (!DispatchNumeric(x.dtype(), [](auto) {})) return UnsupportedType(ctx, x);
  Result<Tensor> out = ctx.AllocateUninitialized(x.dtype(), x.shape());  // all written
  if (!out.ok()) return out.status();
  Tensor* o = &out.value();
  DispatchNumeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    MapElements<T, T>(x, o, ctx.threads(), [](T v) { return Op::Apply(v); });
  });
  return SetResult(ctx, 0, std::move(out));
}

Status LeakyRelu(KernelContext& ctx) {
  const float alpha = ctx.Float("alpha", 0.01f);
  return MapFloat(ctx, [alpha](float x) { return x < 0 ? alpha * x : x; });
}

Status Elu(KernelContext& ctx) {
  const float alpha = ctx.Float("alpha", 1.0f);
  return MapFloat(ctx, [alpha](float x) { return x < 0 ? alpha * std::expm1(x) : x; });
}

Status Celu(KernelContext& ctx) {
  const float alpha = ctx.Float("alpha", 1.0f);
  return MapFloat(ctx, [alpha](float x) {
    return std::max(0.0f, x) + std::min(0.0f, alpha * std::expm1(x / alpha));
  });
}

Status Selu(KernelContext& ctx) {
  const float alpha = ctx.Float("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.Float("gamma", 1.05070102214813232421875f);
  return MapFloat(ctx, [alpha, gamma](float x) {
    return gamma * (x <= 0 ? alpha * std::expm1(x) : x);
  });
}

Status HardSigmoid(KernelContext& ctx) {
  const float alpha = ctx.Float("alpha", 0.2f);
  const float beta = ctx.Float("beta", 0.5f);
  return MapFloat(ctx, [alpha, beta](float x) {
    return std::max(0.0f, std::min(1.0f, alpha * x + beta));
  });
}

Status ThresholdedRelu(KernelContext& ctx) {
  const float alpha = ctx.Float("alpha", 1.0f);
  return MapFloat(ctx, [alpha](float x) { return x > alpha ? x : 0.0f; });
}

Status Shrink(KernelContext& ctx) {
  const float bias = ctx.Float("bias", 0.0f);
  const float lambd = ctx.Float("lambd", 0.5f);
  return MapFloat(ctx, [bias, lambd](float x) {
    return x < -lambd ? x + bias : (x > lambd ? x - bias : 0.0f);
  });
}

Status Gelu(KernelContext& ctx) {
  const std::string approximate = ctx.String("approximate", "none");
  if (approximate == "none") return MapFloat(ctx, GeluErf);
  if (approximate == "tanh") return MapFloat(ctx, GeluTanh);
  return ctx.Unsupported("approximate='" + approximate + "' (expected none or tanh)");
}

// A float -> bool predicate.
template <typename Fn>
Status FloatTest(KernelContext& ctx, Fn fn) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return UnsupportedType(ctx, x);
  Result<Tensor> out = ctx.Allocate(kBool, x.shape());
  if (!out.ok()) return out.status();
  MapElements<float, uint8_t>(x, &out.value(), ctx.threads(),
                              [&fn](float v) -> uint8_t { return fn(v) ? 1 : 0; });
  return SetResult(ctx, 0, std::move(out));
}

Status IsNaN(KernelContext& ctx) {
  return FloatTest(ctx, [](float x) { return std::isnan(x); });
}

Status IsInf(KernelContext& ctx) {
  const bool negative = ctx.Int("detect_negative", 1) != 0;
  const bool positive = ctx.Int("detect_positive", 1) != 0;
  return FloatTest(ctx, [negative, positive](float x) {
    return std::isinf(x) && (x > 0 ? positive : negative);
  });
}

// Clip: bounds are attributes `min`/`max` before opset 11, optional scalar
// inputs 1 and 2 from opset 11 (integer types from opset 12).
Status Clip(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  const bool known = DispatchNumeric(x.dtype(), [](auto) {});
  if (!known || (ctx.opset() < 11 && x.dtype() != kFloat)) return UnsupportedType(ctx, x);
  Result<Tensor> out = ctx.Allocate(x.dtype(), x.shape());
  if (!out.ok()) return out.status();
  Status status;
  DispatchNumeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest();
    T hi = std::numeric_limits<T>::max();
    if (ctx.opset() < 11) {
      lo = static_cast<T>(ctx.Float("min", static_cast<float>(lo)));
      hi = static_cast<T>(ctx.Float("max", static_cast<float>(hi)));
    } else {
      for (int i = 1; i <= 2 && status.ok(); ++i) {
        if (!ctx.has_input(i)) continue;
        const Tensor& bound = ctx.input(i);
        if (bound.dtype() != x.dtype() || bound.size() != 1) {
          status = ctx.Error("input " + std::to_string(i) + " must be a scalar of " +
                             DataTypeName(x.dtype()) + ", got " + DataTypeName(bound.dtype()) +
                             " " + ShapeToString(bound.shape()));
          return;
        }
        (i == 1 ? lo : hi) = bound.data<T>()[0];
      }
    }
    // NaN compares false both ways and stays NaN.
    MapElements<T, T>(x, &out.value(), ctx.threads(),
                      [lo, hi](T v) { return v < lo ? lo : (v > hi ? hi : v); });
  });
  if (!status.ok()) return status;
  return SetResult(ctx, 0, std::move(out));
}

}  // namespace

const std::vector<KernelDef>& UnaryKernels() {
  static const std::vector<KernelDef> kKernels = {
      // Unary math.
      {"Abs", "", 1, 0, NumericUnary<AbsOp>},
      {"Neg", "", 1, 0, NumericUnary<NegOp>},
      {"Sign", "", 9, 0, NumericUnary<SignOp>},
      {"Sqrt", "", 1, 0, FloatUnary<Sqrt>},
      {"Exp", "", 1, 0, FloatUnary<Exp>},
      {"Log", "", 1, 0, FloatUnary<Log>},
      {"Reciprocal", "", 1, 0, FloatUnary<Reciprocal>},
      {"Floor", "", 1, 0, FloatUnary<Floor>},
      {"Ceil", "", 1, 0, FloatUnary<Ceil>},
      {"Round", "", 11, 0, FloatUnary<Round>},
      {"Erf", "", 9, 0, ErfVectorized},
      {"Tanh", "", 1, 0, TanhVectorized},
      {"Sin", "", 7, 0, FloatUnary<Sin>},
      {"Cos", "", 7, 0, FloatUnary<Cos>},
      {"Tan", "", 7, 0, FloatUnary<Tan>},
      {"Asin", "", 7, 0, FloatUnary<Asin>},
      {"Acos", "", 7, 0, FloatUnary<Acos>},
      {"Atan", "", 7, 0, FloatUnary<Atan>},
      {"Sinh", "", 9, 0, FloatUnary<Sinh>},
      {"Cosh", "", 9, 0, FloatUnary<Cosh>},
      {"Asinh", "", 9, 0, FloatUnary<Asinh>},
      {"Acosh", "", 9, 0, FloatUnary<Acosh>},
      {"Atanh", "", 9, 0, FloatUnary<Atanh>},
      {"IsNaN", "", 9, 0, IsNaN},
      {"IsInf", "", 10, 0, IsInf},
      // Activations.
      {"Sigmoid", "", 1, 0, SigmoidVectorized},
      {"Relu", "", 1, 0, NumericUnary<ReluOp>},
      {"LeakyRelu", "", 1, 0, LeakyRelu},
      {"Elu", "", 1, 0, Elu},
      {"Celu", "", 12, 0, Celu},
      {"Selu", "", 1, 0, Selu},
      {"Softplus", "", 1, 0, FloatUnary<Softplus>},
      {"Softsign", "", 1, 0, FloatUnary<Softsign>},
      {"HardSigmoid", "", 1, 0, HardSigmoid},
      {"HardSwish", "", 14, 0, FloatUnary<HardSwish>},
      {"ThresholdedRelu", "", 10, 0, ThresholdedRelu},
      {"Shrink", "", 9, 0, Shrink},
      {"Gelu", "", 20, 0, Gelu},
      {"Clip", "", 1, 0, Clip},
  };
  return kKernels;
}

}  // namespace pq::exec
