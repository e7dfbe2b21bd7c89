// Reduction kernels of pq's executor: ReduceSum/Mean/Max/Min/Prod/L1/L2/
// SumSquare/LogSum/LogSumExp, ArgMax, ArgMin.
//
// Each output element is reduced by one thread, in input order, so results
// do not depend on the thread count. Float sums accumulate in double;
// integer sums wrap in int64.
#include <algorithm>
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

// How a reduction walks its input. Dims are split into kept and reduced
// ones (adjacent dims of one kind merged, size-1 dims dropped); the reduced
// dims are walked as `red_offsets` (all but the innermost) times a run of
// `red_inner` elements `red_inner_stride` apart.
struct ReducePlan {
  std::vector<int64_t> out_shape;
  std::vector<int64_t> kept_dims, kept_strides;
  std::vector<int64_t> red_offsets;
  int64_t red_inner = 1;
  int64_t red_inner_stride = 0;
  int64_t red_size = 1;  // elements reduced into each output
  int64_t out_size = 1;
};

// REQUIRES: reduced.size() == shape.size().
ReducePlan MakePlan(const std::vector<int64_t>& shape, const std::vector<bool>& reduced,
                    bool keepdims) {
  ReducePlan p;
  std::vector<int64_t> red_dims, red_strides;
  int64_t stride = 1;
  // Walk from the innermost dim so strides are known; lists come out reversed.
  bool last_kept = false, last_red = false;
  for (size_t d = shape.size(); d-- > 0;) {
    const int64_t n = shape[d];
    if (reduced[d]) p.red_size *= n; else p.out_size *= n;
    if (n != 1) {
      auto& dims = reduced[d] ? red_dims : p.kept_dims;
      auto& strides = reduced[d] ? red_strides : p.kept_strides;
      const bool merge = reduced[d] ? last_red : last_kept;
      if (merge) {
        dims.back() *= n;
      } else {
        dims.push_back(n);
        strides.push_back(stride);
      }
      last_red = reduced[d];
      last_kept = !reduced[d];
    }
    stride *= n;
  }
  std::reverse(p.kept_dims.begin(), p.kept_dims.end());
  std::reverse(p.kept_strides.begin(), p.kept_strides.end());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!reduced[d]) p.out_shape.push_back(shape[d]);
    else if (keepdims) p.out_shape.push_back(1);
  }
  if (p.red_size == 0) return p;
  // red_dims[0] is the innermost reduced run.
  if (!red_dims.empty()) {
    p.red_inner = red_dims[0];
    p.red_inner_stride = red_strides[0];
  }
  p.red_offsets.push_back(0);
  for (size_t k = 1; k < red_dims.size(); ++k) {
    std::vector<int64_t> next;
    next.reserve(p.red_offsets.size() * static_cast<size_t>(red_dims[k]));
    for (int64_t i = 0; i < red_dims[k]; ++i) {
      for (int64_t off : p.red_offsets) next.push_back(i * red_strides[k] + off);
    }
    p.red_offsets = std::move(next);
  }
  return p;
}

// The input offset of output element `o`'s first reduced element.
int64_t BaseOffset(const ReducePlan& p, int64_t o) {
  int64_t base = 0;
  for (size_t k = p.kept_dims.size(); k-- > 0;) {
    base += (o % p.kept_dims[k]) * p.kept_strides[k];
    o /= p.kept_dims[k];
  }
  return base;
}

// Calls fn(x) for every element reduced into the output at `base`, in order.
template <typename T, typename Fn>
void ForEachReduced(const ReducePlan& p, const T* x, int64_t base, Fn&& fn) {
  if (p.red_size == 0) return;
  for (int64_t off : p.red_offsets) {
    const T* run = x + base + off;
    for (int64_t i = 0; i < p.red_inner; ++i) fn(run[i * p.red_inner_stride]);
  }
}

// Calls fn(o, base) for every output element; outputs are independent, so
// they may run on several threads.
template <typename Fn>
void ForEachOutput(const ReducePlan& p, int threads, Fn fn) {
  const bool parallel = threads > 1 && p.out_size > 1 &&
                        p.out_size * p.red_size >= kElementwiseMinParallel;
#pragma omp parallel for num_threads(threads) schedule(static) if (parallel)
  for (int64_t o = 0; o < p.out_size; ++o) fn(o, BaseOffset(p, o));
}

enum class Kind { kSum, kMean, kProd, kMax, kMin, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

// Reduces the elements at `base` per kKind. Float: accumulates in double,
// NaN propagates through every kind. Integers: wrapping int64 arithmetic.
template <Kind kKind, typename T>
T ReduceOne(const ReducePlan& p, const T* x, int64_t base) {
  constexpr bool kIsFloat = std::is_floating_point_v<T>;
  using Acc = std::conditional_t<kIsFloat, double, int64_t>;
  if constexpr (kKind == Kind::kMax || kKind == Kind::kMin) {
    constexpr bool kIsMax = kKind == Kind::kMax;
    T best = kIsFloat ? (kIsMax ? -std::numeric_limits<T>::infinity()
                              : std::numeric_limits<T>::infinity())
                      : (kIsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max());
    ForEachReduced(p, x, base, [&](T v) {
      best = kIsMax ? MaxPropagateNan(best, v) : MinPropagateNan(best, v);
    });
    return best;
  } else if constexpr (kKind == Kind::kLogSumExp) {
    double max = -std::numeric_limits<double>::infinity();
    ForEachReduced(p, x, base, [&](T v) { max = MaxPropagateNan(max, static_cast<double>(v)); });
    if (!std::isfinite(max)) return static_cast<T>(max);  // NaN, +inf, or -inf (all -inf or empty)
    double sum = 0;
    ForEachReduced(p, x, base, [&](T v) { sum += std::exp(static_cast<double>(v) - max); });
    return static_cast<T>(max + std::log(sum));
  } else {
    Acc acc = kKind == Kind::kProd ? 1 : 0;
    ForEachReduced(p, x, base, [&](T v) {
      const Acc a = static_cast<Acc>(v);
      if constexpr (kKind == Kind::kProd) {
        acc = WrapMul(acc, a);
      } else if constexpr (kKind == Kind::kL1) {
        acc = WrapAdd(acc, a < 0 ? WrapSub<Acc>(0, a) : a);
      } else if constexpr (kKind == Kind::kL2 || kKind == Kind::kSumSquare) {
        acc = WrapAdd(acc, WrapMul(a, a));
      } else {
        acc = WrapAdd(acc, a);
      }
    });
    if constexpr (kKind == Kind::kMean) {
      if constexpr (kIsFloat) return static_cast<T>(acc / static_cast<double>(p.red_size));
      return static_cast<T>(p.red_size == 0 ? 0 : acc / p.red_size);
    } else if constexpr (kKind == Kind::kL2) {
      const double r = std::sqrt(static_cast<double>(acc));
      if constexpr (kIsFloat) return static_cast<T>(r);
      return SaturatingCast<T>(r);
    } else if constexpr (kKind == Kind::kLogSum) {
      return static_cast<T>(std::log(static_cast<double>(acc)));
    } else {
      return static_cast<T>(acc);
    }
  }
}

// Reads the reduced axes. `axes` is an attribute, or from `axes_input_opset`
// on an optional int64 input 1 honouring noop_with_empty_axes. No axes means
// all axes (or none with noop_with_empty_axes).
Status ReadAxes(const KernelContext& ctx, int64_t rank, int64_t axes_input_opset,
                std::vector<bool>* reduced) {
  std::vector<int64_t> axes;
  bool noop = false;
  if (ctx.opset() >= axes_input_opset) {
    if (ctx.has_input(1)) {
      Result<std::vector<int64_t>> read = ctx.InputAsInts(1);
      if (!read.ok()) return read.status();
      axes = std::move(read).value();
    }
    noop = ctx.Int("noop_with_empty_axes", 0) != 0;
  } else {
    axes = ctx.Ints("axes");
  }
  reduced->assign(static_cast<size_t>(rank), axes.empty() && !noop);
  for (int64_t axis : axes) {
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      return ctx.Error("axis " + std::to_string(axis) + " is out of range for rank " +
                       std::to_string(rank));
    }
    if ((*reduced)[static_cast<size_t>(a)]) {
      return ctx.Error("axis " + std::to_string(axis) + " is listed twice");
    }
    (*reduced)[static_cast<size_t>(a)] = true;
  }
  return Status::OK();
}

// Reductions whose axes became an input at opset 18 (ReduceSum: 13).
template <Kind kKind, int kAxesInputOpset = 18>
Status Reduce(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.Error("input 0 (data) is missing");
  const Tensor& x = ctx.input(0);
  constexpr bool kFloatOnly = kKind == Kind::kLogSum || kKind == Kind::kLogSumExp;
  if (!DispatchNumeric(x.dtype(), [](auto) {}) || (kFloatOnly && x.dtype() != kFloat)) {
    return ctx.Unsupported("inputs of type " + DataTypeName(x.dtype()) + " are not supported");
  }
  std::vector<bool> reduced;
  PQ_RETURN_IF_ERROR(ReadAxes(ctx, x.rank(), kAxesInputOpset, &reduced));
  const ReducePlan plan = MakePlan(x.shape(), reduced, ctx.Int("keepdims", 1) != 0);
  Result<Tensor> out = ctx.Allocate(x.dtype(), plan.out_shape);
  if (!out.ok()) return out.status();
  DispatchNumeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out->data<T>();
    ForEachOutput(plan, ctx.threads(), [&](int64_t o, int64_t base) {
      po[o] = ReduceOne<kKind>(plan, px, base);
    });
  });
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// ArgMax/ArgMin along `axis`; ties go to the first index, or the last with
// select_last_index. NaN counts as the extreme value (numpy's argmax).
template <bool kIsMax>
Status ArgReduce(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.Error("input 0 (data) is missing");
  const Tensor& x = ctx.input(0);
  if (!DispatchNumeric(x.dtype(), [](auto) {})) {
    return ctx.Unsupported("inputs of type " + DataTypeName(x.dtype()) + " are not supported");
  }
  const int64_t rank = x.rank();
  const int64_t axis_attr = ctx.Int("axis", 0);
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  if (rank == 0 || axis < 0 || axis >= rank) {
    return ctx.Error("axis " + std::to_string(axis_attr) + " is out of range for rank " +
                     std::to_string(rank));
  }
  if (x.dim(axis) == 0) return ctx.Error("cannot take an arg-extreme along an empty axis");
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  reduced[static_cast<size_t>(axis)] = true;
  const ReducePlan plan = MakePlan(x.shape(), reduced, ctx.Int("keepdims", 1) != 0);
  const bool last = ctx.Int("select_last_index", 0) != 0;
  Result<Tensor> out = ctx.Allocate(kInt64, plan.out_shape);
  if (!out.ok()) return out.status();
  int64_t* po = out->data<int64_t>();
  DispatchNumeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    ForEachOutput(plan, ctx.threads(), [&](int64_t o, int64_t base) {
      int64_t index = -1, best_index = 0;
      T best{};
      ForEachReduced(plan, px, base, [&](T v) {
        ++index;
        bool better = index == 0 || (kIsMax ? v > best : v < best) || (last && v == best);
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(v) || std::isnan(best)) {
            better = index == 0 || (std::isnan(v) && (!std::isnan(best) || last));
          }
        }
        if (better) {
          best = v;
          best_index = index;
        }
      });
      po[o] = best_index;
    });
  });
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& ReductionKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"ReduceSum", "", 1, 0, Reduce<Kind::kSum, 13>},
      {"ReduceMean", "", 1, 0, Reduce<Kind::kMean>},
      {"ReduceMax", "", 1, 0, Reduce<Kind::kMax>},
      {"ReduceMin", "", 1, 0, Reduce<Kind::kMin>},
      {"ReduceProd", "", 1, 0, Reduce<Kind::kProd>},
      {"ReduceL1", "", 1, 0, Reduce<Kind::kL1>},
      {"ReduceL2", "", 1, 0, Reduce<Kind::kL2>},
      {"ReduceSumSquare", "", 1, 0, Reduce<Kind::kSumSquare>},
      {"ReduceLogSum", "", 1, 0, Reduce<Kind::kLogSum>},
      {"ReduceLogSumExp", "", 1, 0, Reduce<Kind::kLogSumExp>},
      {"ArgMax", "", 1, 0, ArgReduce<true>},
      {"ArgMin", "", 1, 0, ArgReduce<false>},
  };
  return kKernels;
}

}  // namespace pq::exec
