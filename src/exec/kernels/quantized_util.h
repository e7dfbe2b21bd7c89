// Helpers shared by the quantized kernels (the quantized_*.cc files):
// integer ranges of the quantized types, round-half-to-even saturation,
// widening 8-bit tensors to int32, input checks and a deterministic
// parallel loop.
#ifndef PQ_EXEC_KERNELS_QUANTIZED_UTIL_H_
#define PQ_EXEC_KERNELS_QUANTIZED_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "exec/kernel.h"
#include "pq/data_type.h"

namespace pq::exec::quantized {

// The 4-bit integer types (kUint4, kInt4 in pq/data_type.h): the executor
// holds their values unpacked, one per byte, in uint8 / int8 tensors.

// The inclusive value range of a quantized integer type.
struct IntRange {
  int32_t lo;
  int32_t hi;
};

// Returns the range of uint8, int8, uint4 or int4; nullopt for other types.
inline std::optional<IntRange> QuantRange(int32_t dtype) {
  switch (dtype) {
    case kUint8: return IntRange{0, 255};
    case kInt8: return IntRange{-128, 127};
    case kUint4: return IntRange{0, 15};
    case kInt4: return IntRange{-8, 7};
    default: return std::nullopt;
  }
}

// The executor type that holds values of quantized type `dtype`.
// REQUIRES: QuantRange(dtype) has a value.
inline int32_t HolderType(int32_t dtype) {
  return (dtype == kUint8 || dtype == kUint4) ? kUint8 : kInt8;
}

// Returns saturate(round_half_to_even(v) + zero_point) in `range`. NaN maps
// to the (saturated) zero point. Uses std::nearbyint, so the caller must not
// change the default rounding mode.
inline int32_t RoundAddSaturate(double v, int32_t zero_point, IntRange range) {
  double q = std::isnan(v) ? 0.0 : std::nearbyint(v);
  q += zero_point;
  q = std::min<double>(std::max<double>(q, range.lo), range.hi);
  return static_cast<int32_t>(q);
}

// Reads element `i` of a uint8, int8 or int32 tensor.
inline int32_t IntAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case kUint8: return t.data<uint8_t>()[i];
    case kInt8: return t.data<int8_t>()[i];
    case kInt32: return t.data<int32_t>()[i];
    default: return 0;
  }
}

// Writes `v` (already in range) as element `i` of a uint8 or int8 tensor.
inline void StoreInt8(Tensor* t, int64_t i, int32_t v) {
  if (t->dtype() == kUint8) {
    t->data<uint8_t>()[i] = static_cast<uint8_t>(v);
  } else {
    t->data<int8_t>()[i] = static_cast<int8_t>(v);
  }
}

inline bool IsInt8Type(int32_t dtype) { return dtype == kUint8 || dtype == kInt8; }

// Returns the listed name of input `i` ("" when absent).
inline std::string InputName(const KernelContext& ctx, int i) {
  return i < ctx.node().input_size() ? ctx.node().input(i) : std::string();
}

// Checks that the inputs at indices `required` are present and that every
// listed input was loaded. A listed input the executor could not load (its
// type is one the executor does not hold: packed int4, float8, int16, ...)
// is reported as not supported rather than read as absent.
inline Status CheckInputs(const KernelContext& ctx, std::initializer_list<int> required) {
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!InputName(ctx, i).empty() && !ctx.has_input(i)) {
      return ctx.Unsupported("input '" + InputName(ctx, i) +
                             "' is not available to the executor (its data type, e.g. packed "
                             "int4, float8 or int16, is not one the executor computes with)");
    }
  }
  for (int i : required) {
    if (!ctx.has_input(i)) return ctx.Error("required input " + std::to_string(i) + " is missing");
  }
  return Status::OK();
}

// Errors unless input `i` has one of the types in `allowed`.
inline Status CheckType(const KernelContext& ctx, int i, const char* what,
                        std::initializer_list<int32_t> allowed) {
  const int32_t dtype = ctx.input(i).dtype();
  std::string names;
  for (int32_t a : allowed) {
    if (a == dtype) return Status::OK();
    names += (names.empty() ? "" : " or ") + DataTypeName(a);
  }
  return ctx.Error(std::string(what) + " must be " + names + ", got " + DataTypeName(dtype));
}

// Returns the values of a uint8/int8/int32 tensor minus a per-tensor zero
// point, widened to int32.
inline std::vector<int32_t> WidenMinus(const Tensor& t, int32_t zero_point) {
  std::vector<int32_t> out(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) out[static_cast<size_t>(i)] = IntAt(t, i) - zero_point;
  return out;
}

// Work (multiply-adds) below which a loop stays on the calling thread.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 16;

// Calls fn(begin, end) on contiguous chunks covering [0, count), on up to
// `threads` threads. Every index is handled by exactly one call, so when
// fn's result for an index does not depend on the chunk it is in, the
// result does not depend on the thread count. `work_per_item` sizes chunks.
template <typename Fn>
void ParallelFor(int threads, int64_t count, int64_t work_per_item, Fn fn) {
  if (count <= 0) return;
  const int64_t total_work = count * std::max<int64_t>(1, work_per_item);
  int64_t n = std::min<int64_t>({static_cast<int64_t>(std::max(1, threads)), count,
                                 std::max<int64_t>(1, total_work / kMinWorkPerThread)});
  if (n <= 1) {
    fn(int64_t{0}, count);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(n - 1));
  const int64_t chunk = (count + n - 1) / n;
  for (int64_t t = 1; t < n; ++t) {
    const int64_t begin = t * chunk;
    const int64_t end = std::min(count, begin + chunk);
    if (begin >= end) continue;
    try {
      pool.emplace_back([=] { fn(begin, end); });
    } catch (const std::system_error&) {
      fn(begin, end);  // no thread available: same chunk, calling thread
    }
  }
  fn(int64_t{0}, std::min(count, chunk));
  for (std::thread& th : pool) th.join();
}

}  // namespace pq::exec::quantized

#endif  // PQ_EXEC_KERNELS_QUANTIZED_UTIL_H_
