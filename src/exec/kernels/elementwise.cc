// Binary elementwise kernels of pq's executor: arithmetic, variadic
// Max/Min/Sum/Mean, comparison and logic with numpy broadcasting, and Where.
//
// Scalar arithmetic lives in elementwise_math.h, loops, dtype dispatch and
// input checks in elementwise_util.h. float16 and double tensors are held as
// float.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_math.h"
#include "exec/kernels/elementwise_util.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

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
  const bool known = DispatchWideNumeric(a.dtype(), [&](auto tag) {
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
  if (!DispatchWideNumeric(acc.dtype(), [](auto) {})) return UnsupportedType(ctx, acc);
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
  if (x.dtype() == kFloat && y.dtype() == kFloat && y.size() == 1 && y.data<float>()[0] == 2.0f &&
      o->size() == x.size()) {
    // x^2 (RMSNorm's square): b * b in float is the correctly rounded square,
    // exactly what pow in double rounded to float gives, without the call.
    const float* in = x.data<float>();
    float* p = o->data<float>();
    ParallelFor(x.size(), ctx.threads(), [&](int64_t i) { p[i] = in[i] * in[i]; });
    return SetResult(ctx, 0, std::move(out));
  }
  bool known_exponent = true;
  const bool known_base = DispatchWideNumeric(x.dtype(), [&](auto base_tag) {
    using B = decltype(base_tag);
    known_exponent = DispatchWideNumeric(y.dtype(), [&](auto exp_tag) {
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
  const bool known = DispatchWideNumeric(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    BroadcastBinary<T, T, T>(a, b, o, ctx.threads(), [fmod](T x, T y) {
      return fmod == 1 ? TruncatedMod(x, y) : FlooredMod(x, y);
    });
  });
  if (!known) return UnsupportedType(ctx, a);
  return SetResult(ctx, 0, std::move(out));
}

// BitShift on the unsigned types (uint8, uint16, uint32, uint64); a shift
// by the type's width or more gives 0.
Status BitShift(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  PQ_RETURN_IF_ERROR(RequireSameType(ctx, a, b));
  const int32_t t = a.dtype();
  if (t != kUint8 && t != kUint16 && t != kUint32 && t != kUint64) return UnsupportedType(ctx, a);
  const std::string direction = ctx.String("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.Error("direction must be LEFT or RIGHT, got '" + direction + "'");
  }
  const bool left = direction == "LEFT";
  Result<Tensor> out = AllocateBroadcast(ctx, a, b, t);
  if (!out.ok()) return out.status();
  Tensor* o = &out.value();
  DispatchWideNumeric(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_unsigned_v<T>) {
      BroadcastBinary<T, T, T>(a, b, o, ctx.threads(), [left](T x, T s) -> T {
        if (s >= sizeof(T) * 8) return 0;
        // uint64_t keeps narrow types from promoting to a signed int.
        const uint64_t v = static_cast<uint64_t>(x);
        return static_cast<T>(left ? v << s : v >> s);
      });
    }
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
  };
  return kKernels;
}

}  // namespace pq::exec
