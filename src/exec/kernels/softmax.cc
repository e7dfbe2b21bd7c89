// Softmax-family kernels of pq's executor: Softmax, LogSoftmax, Hardmax.
//
// Before opset 13 the input is coerced to 2-D at `axis` (default 1) and each
// row of the flattened trailing block is normalised; from opset 13 the op
// normalises along the single `axis` (default -1). Each normalised slice is
// computed by one thread, so results do not depend on the thread count.
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

enum class Mode { kSoftmax, kLogSoftmax, kHardmax };

// Normalises the `n` elements x[0], x[stride], ... into y (same layout).
// Softmax subtracts the maximum before exp, so large inputs do not overflow;
// NaN anywhere in the slice makes the whole slice NaN.
// exp(x) is 0 in float for x below this (the smallest denormal is 2^-149,
// exp(-103.98) = 2^-150).
constexpr float kExpUnderflow = -104.0f;
static_assert(kExpUnderflow < -103.98f, "exp of anything below kExpUnderflow rounds to 0 in float");

template <Mode kMode>
void NormalizeSlice(const float* x, float* y, int64_t n, int64_t stride) {
  if constexpr (kMode == Mode::kHardmax) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i) {
      if (x[i * stride] > x[best * stride]) best = i;
    }
    for (int64_t i = 0; i < n; ++i) y[i * stride] = i == best ? 1.0f : 0.0f;
  } else {
    float max = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) max = MaxPropagateNan(max, x[i * stride]);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      // Below -104, exp underflows to 0 (libm takes a slow path to say so;
      // masked attention scores hit it for every masked entry).
      const float d = x[i * stride] - max;
      const float e = d < kExpUnderflow ? 0.0f : std::exp(d);
      if constexpr (kMode == Mode::kSoftmax) y[i * stride] = e;
      sum += e;
    }
    if constexpr (kMode == Mode::kSoftmax) {
      const float scale = static_cast<float>(1.0 / sum);
      for (int64_t i = 0; i < n; ++i) y[i * stride] *= scale;
    } else {
      // (x - max) - log(sum): folding max into the log term would round it
      // at max's magnitude.
      const float log_sum = static_cast<float>(std::log(sum));
      for (int64_t i = 0; i < n; ++i) y[i * stride] = (x[i * stride] - max) - log_sum;
    }
  }
}

template <Mode kMode>
Status Normalize(KernelContext& ctx) {
  if (!ctx.has_input(0)) return ctx.Error("input 0 is missing");
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) {
    return ctx.Unsupported("inputs of type " + DataTypeName(x.dtype()) + " are not supported");
  }
  const bool coerce_2d = ctx.opset() < 13;
  const int64_t rank = x.rank();
  const int64_t axis_attr = ctx.Int("axis", coerce_2d ? 1 : -1);
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  // The 2-D coercion also accepts axis == rank (rows of one element).
  if (axis < 0 || axis > rank || (axis == rank && !coerce_2d)) {
    return ctx.Error("axis " + std::to_string(axis_attr) + " is out of range for rank " +
                     std::to_string(rank));
  }
  // The input as [outer, n, inner], normalised along n.
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) outer *= x.dim(d);
    else if (d == axis || coerce_2d) n *= x.dim(d);
    else inner *= x.dim(d);
  }
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, x.shape());  // every slice writes its own
  if (!out.ok()) return out.status();
  const float* px = x.data<float>();
  float* py = out->data<float>();
  const int64_t slices = outer * inner;
  const int threads = ctx.threads();
  const bool parallel = threads > 1 && slices > 1 && x.size() >= kElementwiseMinParallel;
#pragma omp parallel for num_threads(threads) schedule(static) if (parallel)
  for (int64_t s = 0; s < slices; ++s) {
    const int64_t start = (s / inner) * n * inner + s % inner;
    NormalizeSlice<kMode>(px + start, py + start, n, inner);
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& SoftmaxKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Softmax", "", 1, 0, Normalize<Mode::kSoftmax>},
      {"LogSoftmax", "", 1, 0, Normalize<Mode::kLogSoftmax>},
      {"Hardmax", "", 1, 0, Normalize<Mode::kHardmax>},
  };
  return kKernels;
}

}  // namespace pq::exec
