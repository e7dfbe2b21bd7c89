// Private helpers of the elementwise kernels (elementwise.cc, unary.cc,
// cast.cc): dtype dispatch, a deterministic parallel loop, the broadcasting
// binary loop and the input checks they share.
#ifndef PQ_EXEC_KERNELS_ELEMENTWISE_UTIL_H_
#define PQ_EXEC_KERNELS_ELEMENTWISE_UTIL_H_

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "exec/broadcast.h"
#include "exec/kernel.h"
#include "pq/data_type.h"
#include "pq/tensor.h"

namespace pq::exec {

// Loops shorter than this run on one thread: forking costs more.
constexpr int64_t kElementwiseMinParallel = 1 << 15;

// Calls fn(i) for i in [0, n). Every fn(i) must be independent of the others,
// so the result does not depend on `threads`.
template <typename Fn>
void ParallelFor(int64_t n, int threads, Fn fn) {
  if (threads <= 1 || n < kElementwiseMinParallel) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) fn(i);
}

// Calls fn(T{}) with T the storage type of `dtype` among the numeric types
// the executor holds (float, int64, int32, int8, uint8). Returns false, without
// calling fn, for any other dtype (bool included).
template <typename Fn>
bool DispatchNumeric(int32_t dtype, Fn&& fn) {
  switch (dtype) {
    case kFloat: fn(float{}); return true;
    case kInt64: fn(int64_t{}); return true;
    case kInt32: fn(int32_t{}); return true;
    case kInt8: fn(int8_t{}); return true;
    case kUint8: fn(uint8_t{}); return true;
    default: return false;
  }
}

// As DispatchNumeric, plus bool (stored as uint8_t 0/1, passed as bool{}).
template <typename Fn>
bool DispatchAll(int32_t dtype, Fn&& fn) {
  if (dtype == kBool) {
    fn(bool{});
    return true;
  }
  return DispatchNumeric(dtype, std::forward<Fn>(fn));
}

// As DispatchNumeric, plus the integer types only the integer elementwise
// kernels compute with (int16, uint16, uint32, uint64).
template <typename Fn>
bool DispatchWideNumeric(int32_t dtype, Fn&& fn) {
  switch (dtype) {
    case kInt16: fn(int16_t{}); return true;
    case kUint16: fn(uint16_t{}); return true;
    case kUint32: fn(uint32_t{}); return true;
    case kUint64: fn(uint64_t{}); return true;
    default: return DispatchNumeric(dtype, std::forward<Fn>(fn));
  }
}

// Storage type for a value type: bool is held as uint8_t.
template <typename T>
using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

// Computes the broadcast shape of `a` and `b` into `out`; the error names
// both shapes.
inline Status BroadcastPair(const KernelContext& ctx, const Tensor& a, const Tensor& b,
                            std::vector<int64_t>* out) {
  if (BroadcastShapes({a.shape(), b.shape()}, out)) return Status::OK();
  return ctx.Error("inputs of shapes " + ShapeToString(a.shape()) + " and " +
                   ShapeToString(b.shape()) + " do not broadcast");
}

// Writes out[i] = fn(a[ia], b[ib]) over the broadcast of `a` and `b`.
// REQUIRES: `out` has the broadcast shape; TA/TB/TO are the storage types.
template <typename TA, typename TB, typename TO, typename Fn>
void BroadcastBinary(const Tensor& a, const Tensor& b, Tensor* out, int threads, Fn fn) {
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  TO* po = out->data<TO>();
  const int64_t n = out->size();
  if (n == 0) return;
  // Equal element counts mean no dim is expanded: plain linear indexing.
  if (a.size() == n && b.size() == n) {
    ParallelFor(n, threads, [&](int64_t i) { po[i] = fn(pa[i], pb[i]); });
  } else if (a.size() == 1 && b.size() == n) {
    const TA x = pa[0];
    ParallelFor(n, threads, [&](int64_t i) { po[i] = fn(x, pb[i]); });
  } else if (b.size() == 1 && a.size() == n) {
    const TB y = pb[0];
    ParallelFor(n, threads, [&](int64_t i) { po[i] = fn(pa[i], y); });
  } else {
    ForEachBroadcast2(out->shape(), BroadcastStrides(a.shape(), out->shape()),
                      BroadcastStrides(b.shape(), out->shape()),
                      [&](int64_t o, int64_t i, int64_t j) { po[o] = fn(pa[i], pb[j]); });
  }
}

// Writes out[i] = fn(in[i]). REQUIRES: same element count.
template <typename TI, typename TO, typename Fn>
void MapElements(const Tensor& in, Tensor* out, int threads, Fn fn) {
  const TI* pi = in.data<TI>();
  TO* po = out->data<TO>();
  ParallelFor(in.size(), threads, [&](int64_t i) { po[i] = fn(pi[i]); });
}

// ---------------------------------------------- checks and results

// Returns an error unless inputs 0..n-1 are all present.
inline Status RequireInputs(const KernelContext& ctx, int n) {
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) {
      return ctx.Error("expects " + std::to_string(n) + " inputs; input " + std::to_string(i) +
                       " is missing");
    }
  }
  return Status::OK();
}

inline Status UnsupportedType(const KernelContext& ctx, const Tensor& t) {
  return ctx.Unsupported("inputs of type " + DataTypeName(t.dtype()) + " are not supported");
}

inline Status RequireSameType(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.dtype() == b.dtype()) return Status::OK();
  return ctx.Error("inputs must have one type, got " + DataTypeName(a.dtype()) + " and " +
                   DataTypeName(b.dtype()));
}

// Allocates the output of a binary op: the broadcast of a and b, `dtype`,
// uninitialized. REQUIRES: the caller writes every element (BroadcastBinary
// does).
inline Result<Tensor> AllocateBroadcast(const KernelContext& ctx, const Tensor& a, const Tensor& b,
                                 int32_t dtype) {
  std::vector<int64_t> shape;
  PQ_RETURN_IF_ERROR(BroadcastPair(ctx, a, b, &shape));
  return ctx.AllocateUninitialized(dtype, shape);
}

inline Status SetResult(KernelContext& ctx, int i, Result<Tensor> t) {
  if (!t.ok()) return t.status();
  ctx.set_output(i, std::move(t).value());
  return Status::OK();
}

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_ELEMENTWISE_UTIL_H_
