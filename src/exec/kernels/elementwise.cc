// Elementwise kernels of pq's executor: arithmetic, comparison and logic with
// numpy broadcasting, unary math and activations, Clip, Where, Cast and the
// pass-through ops (Identity, Dropout at inference).
//
// Scalar arithmetic lives in elementwise_math.h, loops and dtype dispatch in
// elementwise_util.h. float16 and double tensors are held as float.
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

// ---------------------------------------------------------------- helpers

// Returns an error unless inputs 0..n-1 are all present.
Status RequireInputs(const KernelContext& ctx, int n) {
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) {
      return ctx.Error("expects " + std::to_string(n) + " inputs; input " + std::to_string(i) +
                       " is missing");
    }
  }
  return Status::OK();
}

Status UnsupportedType(const KernelContext& ctx, const Tensor& t) {
  return ctx.Unsupported("inputs of type " + DataTypeName(t.dtype()) + " are not supported");
}

Status RequireSameType(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.dtype() == b.dtype()) return Status::OK();
  return ctx.Error("inputs must have one type, got " + DataTypeName(a.dtype()) + " and " +
                   DataTypeName(b.dtype()));
}

// Allocates the output of a binary op: the broadcast of a and b, `dtype`,
// uninitialized. REQUIRES: the caller writes every element (BroadcastBinary
// does).
Result<Tensor> AllocateBroadcast(const KernelContext& ctx, const Tensor& a, const Tensor& b,
                                 int32_t dtype) {
  std::vector<int64_t> shape;
  PQ_RETURN_IF_ERROR(BroadcastPair(ctx, a, b, &shape));
  return ctx.AllocateUninitialized(dtype, shape);
}

Status SetResult(KernelContext& ctx, int i, Result<Tensor> t) {
  if (!t.ok()) return t.status();
  ctx.set_output(i, std::move(t).value());
  return Status::OK();
}

// ------------------------------------------------------ binary arithmetic

struct AddOp {
  template <typename T> static T Apply(T a, T b) { return WrapAdd(a, b); }
};
struct SubOp {
  template <typename T> static T Apply(T a, T b) { return WrapSub(a, b); }
};
struct MulOp {
  template <typename T> static T Apply(T a, T b) { return WrapMul(a, b); }
};
struct DivOp {
  template <typename T> static T Apply(T a, T b) { return Divide(a, b); }
};
struct MaxOp {
  template <typename T> static T Apply(T a, T b) { return MaxPropagateNan(a, b); }
};
struct MinOp {
  template <typename T> static T Apply(T a, T b) { return MinPropagateNan(a, b); }
};
// PRelu: x where x >= 0, slope * x elsewhere.
struct PReluOp {
  template <typename T> static T Apply(T x, T slope) { return x < 0 ? WrapMul(x, slope) : x; }
};

// out = Op(a, b) broadcast, for any numeric type (a and b of one type).
template <typename Op>
Result<Tensor> ArithmeticPair(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  PQ_RETURN_IF_ERROR(RequireSameType(ctx, a, b));
  Result<Tensor> out = AllocateBroadcast(ctx, a, b, a.dtype());
  if (!out.ok()) return out;
  Tensor* o = &out.value();
  const bool known = DispatchNumeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    BroadcastBinary<T, T, T>(a, b, o, ctx.threads(), [](T x, T y) { return Op::Apply(x, y); });
  });
  if (!known) return UnsupportedType(ctx, a);
  return out;
}

template <typename Op>
Status Arithmetic(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  return SetResult(ctx, 0, ArithmeticPair<Op>(ctx, ctx.input(0), ctx.input(1)));
}

// Folds Op over all inputs (Max, Min, Sum): the result has the broadcast of
// every input's shape.
template <typename Op>
Result<Tensor> FoldInputs(const KernelContext& ctx) {
  if (ctx.num_inputs() == 0) return ctx.Error("expects at least one input");
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, ctx.num_inputs()));
  std::vector<std::vector<int64_t>> shapes;
  std::string listed;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    shapes.push_back(ctx.input(i).shape());
    listed += (i ? ", " : "") + ShapeToString(ctx.input(i).shape());
  }
  std::vector<int64_t> shape;
  if (!BroadcastShapes(shapes, &shape)) {
    return ctx.Error("inputs of shapes " + listed + " do not broadcast");
  }
  Tensor acc = ctx.input(0);
  if (!DispatchNumeric(acc.dtype(), [](auto) {})) return UnsupportedType(ctx, acc);
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    Result<Tensor> next = ArithmeticPair<Op>(ctx, acc, ctx.input(i));
    if (!next.ok()) return next;
    acc = std::move(next).value();
  }
  return acc;
}

template <typename Op>
Status Variadic(KernelContext& ctx) {
  return SetResult(ctx, 0, FoldInputs<Op>(ctx));
}

Status Mean(KernelContext& ctx) {
  Result<Tensor> sum = FoldInputs<AddOp>(ctx);
  if (!sum.ok()) return sum.status();
  if (sum->dtype() != kFloat) return UnsupportedType(ctx, sum.value());
  if (ctx.num_inputs() == 1) return SetResult(ctx, 0, std::move(sum));
  // With two or more inputs `sum` is a fresh tensor of this kernel's.
  Tensor out = std::move(sum).value();
  const float n = static_cast<float>(ctx.num_inputs());
  float* p = out.data<float>();
  ParallelFor(out.size(), ctx.threads(), [&](int64_t i) { p[i] /= n; });
  ctx.set_output(0, std::move(out));
  return Status::OK();
}

// Pow: the result has the base's type; the exponent may be another numeric
// type. Integer ^ integer is exact (wrapping); otherwise computed in double.
Status Pow(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.input(1);
  Result<Tensor> out = AllocateBroadcast(ctx, x, y, x.dtype());
  if (!out.ok()) return out.status();
  Tensor* o = &out.value();
  bool known_exponent = true;
  const bool known_base = DispatchNumeric(x.dtype(), [&](auto base_tag) {
    using B = decltype(base_tag);
    known_exponent = DispatchNumeric(y.dtype(), [&](auto exp_tag) {
      using E = decltype(exp_tag);
      BroadcastBinary<B, E, B>(x, y, o, ctx.threads(),
                               [](B b, E e) { return PowValue(b, e); });
    });
  });
  if (!known_base) return UnsupportedType(ctx, x);
  if (!known_exponent) return UnsupportedType(ctx, y);
  return SetResult(ctx, 0, std::move(out));
}

// Mod: fmod=0 takes the divisor's sign (integers only), fmod=1 the dividend's.
Status Mod(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  PQ_RETURN_IF_ERROR(RequireSameType(ctx, a, b));
  const int64_t fmod = ctx.Int("fmod", 0);
  if (a.dtype() == kFloat && fmod != 1) {
    return ctx.Error("fmod must be 1 for floating-point inputs, got " + std::to_string(fmod));
  }
  Result<Tensor> out = AllocateBroadcast(ctx, a, b, a.dtype());
  if (!out.ok()) return out.status();
  Tensor* o = &out.value();
  const bool known = DispatchNumeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    BroadcastBinary<T, T, T>(a, b, o, ctx.threads(), [fmod](T x, T y) {
      return fmod == 1 ? TruncatedMod(x, y) : FlooredMod(x, y);
    });
  });
  if (!known) return UnsupportedType(ctx, a);
  return SetResult(ctx, 0, std::move(out));
}

// BitShift on uint8 (the only unsigned type the executor holds).
Status BitShift(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  PQ_RETURN_IF_ERROR(RequireSameType(ctx, a, b));
  if (a.dtype() != kUint8) return UnsupportedType(ctx, a);
  const std::string direction = ctx.String("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.Error("direction must be LEFT or RIGHT, got '" + direction + "'");
  }
  const bool left = direction == "LEFT";
  Result<Tensor> out = AllocateBroadcast(ctx, a, b, kUint8);
  if (!out.ok()) return out.status();
  BroadcastBinary<uint8_t, uint8_t, uint8_t>(a, b, &out.value(), ctx.threads(),
                                             [left](uint8_t x, uint8_t s) -> uint8_t {
    if (s >= 8) return 0;
    return static_cast<uint8_t>(left ? x << s : x >> s);
  });
  return SetResult(ctx, 0, std::move(out));
}

// ---------------------------------------------------- comparison and logic

struct EqualOp {
  template <typename T> static bool Apply(T a, T b) { return a == b; }
};
struct LessOp {
  template <typename T> static bool Apply(T a, T b) { return a < b; }
};
struct GreaterOp {
  template <typename T> static bool Apply(T a, T b) { return a > b; }
};
struct LessOrEqualOp {
  template <typename T> static bool Apply(T a, T b) { return a <= b; }
};
struct GreaterOrEqualOp {
  template <typename T> static bool Apply(T a, T b) { return a >= b; }
};
struct AndOp {
  template <typename T> static bool Apply(T a, T b) { return a != 0 && b != 0; }
};
struct OrOp {
  template <typename T> static bool Apply(T a, T b) { return a != 0 || b != 0; }
};
struct XorOp {
  template <typename T> static bool Apply(T a, T b) { return (a != 0) != (b != 0); }
};

// A binary op with a bool output. kLogical ops take bool inputs only.
template <typename Op, bool kLogical>
Status Predicate(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  PQ_RETURN_IF_ERROR(RequireSameType(ctx, a, b));
  if (kLogical && a.dtype() != kBool) {
    return ctx.Error("expects bool inputs, got " + DataTypeName(a.dtype()));
  }
  Result<Tensor> out = AllocateBroadcast(ctx, a, b, kBool);
  if (!out.ok()) return out.status();
  Tensor* o = &out.value();
  const bool known = DispatchAll(a.dtype(), [&](auto tag) {
    using S = Stored<decltype(tag)>;
    BroadcastBinary<S, S, uint8_t>(a, b, o, ctx.threads(), [](S x, S y) -> uint8_t {
      return Op::Apply(x, y) ? 1 : 0;
    });
  });
  if (!known) return UnsupportedType(ctx, a);
  return SetResult(ctx, 0, std::move(out));
}

Status Not(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kBool) return ctx.Error("expects a bool input, got " + DataTypeName(x.dtype()));
  Result<Tensor> out = ctx.Allocate(kBool, x.shape());
  if (!out.ok()) return out.status();
  MapElements<uint8_t, uint8_t>(x, &out.value(), ctx.threads(),
                                [](uint8_t v) -> uint8_t { return v ? 0 : 1; });
  return SetResult(ctx, 0, std::move(out));
}

// Where(condition, X, Y): X where condition, else Y; any element type.
Status Where(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 3));
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (c.dtype() != kBool) {
    return ctx.Error("condition must be bool, got " + DataTypeName(c.dtype()));
  }
  PQ_RETURN_IF_ERROR(RequireSameType(ctx, x, y));
  std::vector<int64_t> shape;
  if (!BroadcastShapes({c.shape(), x.shape(), y.shape()}, &shape)) {
    return ctx.Error("inputs of shapes " + ShapeToString(c.shape()) + ", " +
                     ShapeToString(x.shape()) + " and " + ShapeToString(y.shape()) +
                     " do not broadcast");
  }
  Result<Tensor> out = ctx.Allocate(x.dtype(), shape);
  if (!out.ok()) return out.status();
  const bool known = DispatchAll(x.dtype(), [&](auto tag) {
    using S = Stored<decltype(tag)>;
    const uint8_t* pc = c.data<uint8_t>();
    const S* px = x.data<S>();
    const S* py = y.data<S>();
    S* po = out->data<S>();
    ForEachBroadcast3(shape, BroadcastStrides(c.shape(), shape), BroadcastStrides(x.shape(), shape),
                      BroadcastStrides(y.shape(), shape),
                      [&](int64_t o, int64_t i, int64_t j, int64_t k) {
                        po[o] = pc[i] ? px[j] : py[k];
                      });
  });
  if (!known) return UnsupportedType(ctx, x);
  return SetResult(ctx, 0, std::move(out));
}

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

// --------------------------------------------------------- cast and copies

// Converts one value of value type S to value type D. Float -> integer
// saturates (NaN -> 0); integer -> narrower integer wraps; -> bool is != 0.
template <typename S, typename D>
Stored<D> ConvertValue(Stored<S> v, bool round_to_half) {
  if constexpr (std::is_same_v<D, bool>) {
    return v != 0 ? 1 : 0;
  } else if constexpr (std::is_same_v<D, float>) {
    const float f = static_cast<float>(v);
    return round_to_half ? RoundToFloat16(f) : f;
  } else if constexpr (std::is_floating_point_v<S>) {
    return SaturatingCast<D>(static_cast<double>(v));
  } else {
    return static_cast<D>(v);
  }
}

// Casts `x` to ONNX type `to`; float16 and double targets stay float (half
// values rounded to the nearest half).
Status CastTo(KernelContext& ctx, const Tensor& x, int64_t to) {
  int32_t dtype = static_cast<int32_t>(to);
  bool round_to_half = false;
  switch (to) {
    case kFloat16: dtype = kFloat; round_to_half = true; break;
    case kDouble: dtype = kFloat; break;
    case kFloat: case kInt64: case kInt32: case kInt8: case kUint8: case kBool: break;
    default:
      return ctx.Unsupported("cast to " + DataTypeName(static_cast<int32_t>(to)) +
                             " is not supported");
  }
  if (x.dtype() == dtype && !round_to_half) {
    ctx.set_output(0, x);
    return Status::OK();
  }
  Result<Tensor> out = ctx.Allocate(dtype, x.shape());
  if (!out.ok()) return out.status();
  Tensor* o = &out.value();
  const bool known = DispatchAll(x.dtype(), [&](auto src_tag) {
    using S = decltype(src_tag);
    DispatchAll(dtype, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      MapElements<Stored<S>, Stored<D>>(x, o, ctx.threads(), [round_to_half](Stored<S> v) {
        return ConvertValue<S, D>(v, round_to_half);
      });
    });
  });
  if (!known) return UnsupportedType(ctx, x);
  return SetResult(ctx, 0, std::move(out));
}

Status Cast(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  if (!ctx.HasAttr("to")) return ctx.Error("attribute 'to' is required");
  return CastTo(ctx, ctx.input(0), ctx.Int("to", 0));
}

// CastLike: the target type is input 1's (float16/double are held as float,
// so those targets cast to float).
Status CastLike(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  return CastTo(ctx, ctx.input(0), ctx.input(1).dtype());
}

Status Identity(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  ctx.set_output(0, ctx.input(0));
  return Status::OK();
}

// Dropout at inference: output = input, mask all true. Training mode with a
// non-zero ratio is random and not supported. Before opset 12 the ratio is an
// attribute; before opset 10 the mask has the input's type.
Status Dropout(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (ctx.opset() >= 12 && ctx.has_input(2)) {
    const Tensor& mode = ctx.input(2);
    if (mode.dtype() != kBool || mode.size() != 1) {
      return ctx.Error("training_mode must be a bool scalar");
    }
    float ratio = 0.5f;
    if (ctx.has_input(1)) {
      if (ctx.input(1).dtype() != kFloat || ctx.input(1).size() != 1) {
        return ctx.Error("ratio must be a float scalar");
      }
      ratio = ctx.input(1).data<float>()[0];
    }
    if (mode.data<uint8_t>()[0] != 0 && ratio != 0.0f) {
      return ctx.Unsupported("training_mode with a non-zero ratio (random dropout)");
    }
  }
  ctx.set_output(0, x);
  if (ctx.num_outputs() > 1) {
    const int32_t mask_type = ctx.opset() >= 10 ? kBool : x.dtype();
    Result<Tensor> mask = ctx.Allocate(mask_type, x.shape());
    if (!mask.ok()) return mask.status();
    DispatchAll(mask_type, [&](auto tag) {
      using S = Stored<decltype(tag)>;
      S* p = mask->data<S>();
      for (int64_t i = 0; i < mask->size(); ++i) p[i] = S{1};
    });
    ctx.set_output(1, std::move(mask).value());
  }
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& ElementwiseKernels() {
  static const std::vector<KernelDef> kKernels = {
      // Binary arithmetic, numpy broadcasting (pq loads opset 7 and later).
      {"Add", "", 1, 0, Arithmetic<AddOp>},
      {"Sub", "", 1, 0, Arithmetic<SubOp>},
      {"Mul", "", 1, 0, Arithmetic<MulOp>},
      {"Div", "", 1, 0, Arithmetic<DivOp>},
      {"Pow", "", 1, 0, Pow},
      {"Mod", "", 10, 0, Mod},
      {"BitShift", "", 11, 0, BitShift},
      {"PRelu", "", 1, 0, Arithmetic<PReluOp>},
      // Variadic.
      {"Max", "", 1, 0, Variadic<MaxOp>},
      {"Min", "", 1, 0, Variadic<MinOp>},
      {"Sum", "", 1, 0, Variadic<AddOp>},
      {"Mean", "", 1, 0, Mean},
      // Comparison and logic.
      {"Equal", "", 1, 0, Predicate<EqualOp, false>},
      {"Less", "", 1, 0, Predicate<LessOp, false>},
      {"Greater", "", 1, 0, Predicate<GreaterOp, false>},
      {"LessOrEqual", "", 12, 0, Predicate<LessOrEqualOp, false>},
      {"GreaterOrEqual", "", 12, 0, Predicate<GreaterOrEqualOp, false>},
      {"And", "", 1, 0, Predicate<AndOp, true>},
      {"Or", "", 1, 0, Predicate<OrOp, true>},
      {"Xor", "", 1, 0, Predicate<XorOp, true>},
      {"Not", "", 1, 0, Not},
      {"Where", "", 9, 0, Where},
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
      {"Sigmoid", "", 1, 0, FloatUnary<Sigmoid>},
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
      // Casts and pass-through.
      {"Cast", "", 1, 0, Cast},
      {"CastLike", "", 15, 0, CastLike},
      {"Identity", "", 1, 0, Identity},
      {"Dropout", "", 1, 0, Dropout},
  };
  return kKernels;
}

}  // namespace pq::exec
