// Scalar reference functions of the elementwise kernels (elementwise.cc,
// unary.cc, cast.cc).
// Each is the source of truth for one op's arithmetic on one element; the
// kernels only loop and broadcast. Integer arithmetic wraps (two's
// complement) instead of overflowing, and never traps.
#ifndef PQ_EXEC_KERNELS_ELEMENTWISE_MATH_H_
#define PQ_EXEC_KERNELS_ELEMENTWISE_MATH_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace pq::exec {

// Wrapping integer add/sub/mul (plain IEEE arithmetic for float).
template <typename T>
T WrapAdd(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return a + b;
  } else {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  }
}
template <typename T>
T WrapSub(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return a - b;
  } else {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  }
}
template <typename T>
T WrapMul(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return a * b;
  } else {
    // uint64_t avoids the int promotion of narrow types overflowing.
    return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  }
}

// Division: IEEE for float; for integers truncates toward zero, x / 0 == 0
// (ONNX leaves it undefined) and MIN / -1 wraps to MIN.
template <typename T>
T Divide(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return a / b;
  } else {
    if (b == 0) return 0;
    if (std::is_signed_v<T> && b == static_cast<T>(-1)) return WrapSub<T>(0, a);
    return static_cast<T>(a / b);
  }
}

// Mod with fmod=1: the remainder has the sign of the dividend (C fmod).
// x mod 0 == 0 for integers (undefined in ONNX).
template <typename T>
T TruncatedMod(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::fmod(a, b);
  } else {
    if (b == 0 || (std::is_signed_v<T> && b == static_cast<T>(-1))) return 0;
    return static_cast<T>(a % b);
  }
}

// Mod with fmod=0 (integers): the remainder has the sign of the divisor
// (Python's %). x mod 0 == 0.
template <typename T>
T FlooredMod(T a, T b) {
  const T r = TruncatedMod(a, b);
  if constexpr (std::is_signed_v<T>) {
    if (r != 0 && ((r < 0) != (b < 0))) return static_cast<T>(r + b);
  }
  return r;
}

// Max/Min that propagate NaN (numpy's maximum/minimum).
template <typename T>
T MaxPropagateNan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a < b ? b : a;
}
template <typename T>
T MinPropagateNan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return b < a ? b : a;
}

// Converts to integer type D: truncates toward zero, saturates at D's range,
// NaN becomes 0 (ONNX leaves out-of-range casts undefined; this never traps).
template <typename D>
D SaturatingCast(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<D>::lowest())) {
    return std::numeric_limits<D>::lowest();
  }
  if (v >= static_cast<double>(std::numeric_limits<D>::max())) {
    return std::numeric_limits<D>::max();
  }
  return static_cast<D>(v);
}

// Integer power by squaring, wrapping. A negative exponent gives 1/b^-e
// truncated: 1 for b == 1, +-1 for b == -1, else 0 (0^-e == 0, not a trap).
template <typename T>
T IntPow(T base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if (std::is_signed_v<T> && base == static_cast<T>(-1)) return (e % 2 == 0) ? 1 : base;
    return 0;
  }
  T result = 1;
  while (e > 0) {
    if (e & 1) result = WrapMul(result, base);
    base = WrapMul(base, base);
    e >>= 1;
  }
  return result;
}

// Pow with the base's type: integer ^ integer exactly (wrapping), any other
// pair in double, converted back (saturating for an integer base).
template <typename B, typename E>
B PowValue(B base, E exponent) {
  if constexpr (std::is_integral_v<B> && std::is_integral_v<E>) {
    return IntPow(base, static_cast<int64_t>(exponent));
  } else if constexpr (std::is_integral_v<B>) {
    return SaturatingCast<B>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  } else {
    return static_cast<B>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  }
}

// Rounds a float to the nearest IEEE half value (ties to even), returned as
// float: overflow becomes +-inf, tiny values become half subnormals or +-0,
// NaN and inf pass through.
inline float RoundToFloat16(float x) {
  constexpr int kMinNormalExponent = -14;  // of half
  constexpr int kMantissaBits = 10;        // of half
  constexpr float kMaxHalf = 65504.0f;
  if (std::isnan(x) || std::isinf(x) || x == 0.0f) return x;
  int e;
  std::frexp(x, &e);  // |x| = m * 2^e, m in [0.5, 1): the unbiased exponent is e - 1
  const int exponent = std::max(e - 1, kMinNormalExponent);
  const float quantum = std::ldexp(1.0f, exponent - kMantissaBits);
  const float r = std::nearbyint(x / quantum) * quantum;  // scaling by 2^k is exact
  return std::fabs(r) > kMaxHalf ? std::copysign(std::numeric_limits<float>::infinity(), x) : r;
}

// Activations and float math; each takes and returns float.
inline float Softplus(float x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
inline float GeluErf(float x) {
  constexpr float kSqrtHalf = 0.70710678118654752440f;
  return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf));
}
inline float GeluTanh(float x) {
  constexpr float kSqrtTwoOverPi = 0.79788456080286535588f;
  return 0.5f * x * (1.0f + std::tanh(kSqrtTwoOverPi * (x + 0.044715f * x * x * x)));
}
inline float HardSwish(float x) {
  return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
}
inline float Softsign(float x) { return x / (1.0f + std::fabs(x)); }
inline float Reciprocal(float x) { return 1.0f / x; }

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_ELEMENTWISE_MATH_H_
