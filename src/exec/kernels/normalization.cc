// Normalization kernels of pq's executor: BatchNormalization (inference),
// LayerNormalization, InstanceNormalization, LRN, MeanVarianceNormalization.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"

namespace pq::exec {
namespace {

// Returns the value of a per-channel parameter input, checking its length.
Status ChannelParam(const KernelContext& ctx, int index, int64_t channels, const float** out) {
  const Tensor& t = ctx.input(index);
  if (t.dtype() != kFloat || t.size() != channels) {
    return ctx.Error("input " + std::to_string(index) + " must hold " + std::to_string(channels) +
                     " float values, has " + std::to_string(t.size()));
  }
  *out = t.data<float>();
  return Status::OK();
}

Status BatchNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return ctx.Unsupported("non-float BatchNormalization");
  if (ctx.Int("training_mode", 0) != 0) {
    return ctx.Unsupported("training_mode=1 (pq runs inference only)");
  }
  if (ctx.opset() < 7 && ctx.Int("is_test", 0) == 0 && ctx.num_outputs() > 1) {
    return ctx.Unsupported("training outputs of BatchNormalization");
  }
  if (x.rank() < 2) return ctx.Error("X must have at least 2 dims");
  const int64_t batch = x.dim(0), channels = x.dim(1);
  const int64_t inner = channels == 0 || batch == 0 ? 0 : x.size() / (batch * channels);
  const float *scale, *bias, *mean, *var;
  PQ_RETURN_IF_ERROR(ChannelParam(ctx, 1, channels, &scale));
  PQ_RETURN_IF_ERROR(ChannelParam(ctx, 2, channels, &bias));
  PQ_RETURN_IF_ERROR(ChannelParam(ctx, 3, channels, &mean));
  PQ_RETURN_IF_ERROR(ChannelParam(ctx, 4, channels, &var));
  const float epsilon = ctx.Float("epsilon", 1e-5f);
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, x.shape());  // every element written below
  if (!y.ok()) return y.status();
  for (int64_t c = 0; c < channels; ++c) {
    const float a = scale[c] / std::sqrt(var[c] + epsilon);
    const float b = bias[c] - mean[c] * a;
    for (int64_t n = 0; n < batch; ++n) {
      const float* src = x.data<float>() + (n * channels + c) * inner;
      float* dst = y->data<float>() + (n * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] = src[i] * a + b;
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

Status LayerNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return ctx.Unsupported("non-float LayerNormalization");
  int64_t axis = ctx.Int("axis", -1);
  if (axis < 0) axis += x.rank();
  if (axis < 0 || axis >= x.rank()) return ctx.Error("axis out of range for X " + ShapeToString(x.shape()));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int64_t i = axis; i < x.rank(); ++i) inner *= x.dim(i);
  const Tensor& scale = ctx.input(1);
  if (scale.dtype() != kFloat || (scale.size() != inner && scale.size() != 1)) {
    return ctx.Error("Scale " + ShapeToString(scale.shape()) + " does not match the normalized " +
                     std::to_string(inner) + " values");
  }
  const bool has_bias = ctx.has_input(2);
  if (has_bias && (ctx.input(2).dtype() != kFloat ||
                   (ctx.input(2).size() != inner && ctx.input(2).size() != 1))) {
    return ctx.Error("B " + ShapeToString(ctx.input(2).shape()) + " is not float or does not match the normalized " +
                     std::to_string(inner) + " values");
  }
  const float epsilon = ctx.Float("epsilon", 1e-5f);
  Result<Tensor> y = ctx.Allocate(kFloat, x.shape());
  if (!y.ok()) return y.status();
  std::vector<int64_t> stat_shape = x.shape();
  for (int64_t i = axis; i < x.rank(); ++i) stat_shape[static_cast<size_t>(i)] = 1;
  Result<Tensor> mean_out = ctx.Allocate(kFloat, stat_shape);
  Result<Tensor> inv_out = ctx.Allocate(kFloat, stat_shape);
  if (!mean_out.ok()) return mean_out.status();
  if (!inv_out.ok()) return inv_out.status();
  const float* s = scale.data<float>();
  const float* b = has_bias ? ctx.input(2).data<float>() : nullptr;
  const bool s_scalar = scale.size() == 1, b_scalar = has_bias && ctx.input(2).size() == 1;
  const int threads = ctx.threads();
  const bool parallel = threads > 1 && outer > 1 && x.size() >= kElementwiseMinParallel;
#pragma omp parallel for num_threads(threads) schedule(static) if (parallel)
  for (int64_t o = 0; o < outer; ++o) {
    const float* src = x.data<float>() + o * inner;
    float* dst = y->data<float>() + o * inner;
    double sum = 0;
    for (int64_t i = 0; i < inner; ++i) sum += src[i];
    const double mean = sum / static_cast<double>(inner);
    double sq = 0;
    for (int64_t i = 0; i < inner; ++i) sq += (src[i] - mean) * (src[i] - mean);
    const double inv_std = 1.0 / std::sqrt(sq / static_cast<double>(inner) + epsilon);
    for (int64_t i = 0; i < inner; ++i) {
      const float normalized = static_cast<float>((src[i] - mean) * inv_std);
      dst[i] = normalized * (s_scalar ? s[0] : s[i]) + (b ? (b_scalar ? b[0] : b[i]) : 0.0f);
    }
    mean_out->data<float>()[o] = static_cast<float>(mean);
    inv_out->data<float>()[o] = static_cast<float>(inv_std);
  }
  ctx.set_output(0, std::move(y).value());
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(mean_out).value());
  if (ctx.num_outputs() > 2) ctx.set_output(2, std::move(inv_out).value());
  return Status::OK();
}

Status InstanceNormalization(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return ctx.Unsupported("non-float InstanceNormalization");
  if (x.rank() < 3) return ctx.Error("X must have at least 3 dims");
  const int64_t batch = x.dim(0), channels = x.dim(1);
  const int64_t inner = x.size() / std::max<int64_t>(1, batch * channels);
  const float *scale, *bias;
  PQ_RETURN_IF_ERROR(ChannelParam(ctx, 1, channels, &scale));
  PQ_RETURN_IF_ERROR(ChannelParam(ctx, 2, channels, &bias));
  const float epsilon = ctx.Float("epsilon", 1e-5f);
  Result<Tensor> y = ctx.Allocate(kFloat, x.shape());
  if (!y.ok()) return y.status();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* src = x.data<float>() + (n * channels + c) * inner;
      float* dst = y->data<float>() + (n * channels + c) * inner;
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < inner; ++i) sum += src[i];
      const double mean = sum / static_cast<double>(inner);
      for (int64_t i = 0; i < inner; ++i) sq += (src[i] - mean) * (src[i] - mean);
      const double inv_std = 1.0 / std::sqrt(sq / static_cast<double>(inner) + epsilon);
      for (int64_t i = 0; i < inner; ++i) {
        dst[i] = static_cast<float>((src[i] - mean) * inv_std) * scale[c] + bias[c];
      }
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// LRN (opsets 1, 13): x of rank >= 2 ([N, C, ...]); attributes size (>= 1,
// required), alpha (1e-4), beta (0.75), bias (1). Each element is divided by
// (bias + alpha / size * sum of squares over channels [c - floor((size-1)/2),
// c + ceil((size-1)/2)]) ^ beta. Channel windows sum running prefixes in
// double, so the work does not grow with size.
Status Lrn(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return UnsupportedType(ctx, x);
  if (x.rank() < 2) return ctx.Error("input must have rank >= 2, got " + ShapeToString(x.shape()));
  if (!ctx.HasAttr("size")) return ctx.Error("attribute size is required");
  const int64_t size = ctx.Int("size", 1);
  if (size < 1) return ctx.Error("size must be >= 1, got " + std::to_string(size));
  const double alpha = ctx.Float("alpha", 1e-4f), beta = ctx.Float("beta", 0.75f);
  const double bias = ctx.Float("bias", 1.0f);
  const int64_t channels = x.dim(1);
  const int64_t before = (size - 1) / 2, after = size - 1 - before;  // floor, ceil
  int64_t inner = 1;
  for (int64_t d = 2; d < x.rank(); ++d) inner *= x.dim(d);
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, x.shape());
  if (!out.ok()) return out.status();
  const float* px = x.data<float>();
  float* py = out->data<float>();
  std::vector<double> prefix(static_cast<size_t>(channels) + 1);
  for (int64_t n = 0; n < x.dim(0); ++n) {
    for (int64_t i = 0; i < inner; ++i) {
      const float* xs = px + n * channels * inner + i;
      float* ys = py + n * channels * inner + i;
      for (int64_t c = 0; c < channels; ++c) {
        const double v = xs[c * inner];
        prefix[static_cast<size_t>(c) + 1] = prefix[static_cast<size_t>(c)] + v * v;
      }
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t lo = c - std::min(before, c);
        const int64_t hi = c + std::min(after, channels - 1 - c);
        const double sum = prefix[static_cast<size_t>(hi) + 1] - prefix[static_cast<size_t>(lo)];
        const double scale = std::pow(bias + alpha / static_cast<double>(size) * sum, beta);
        ys[c * inner] = static_cast<float>(xs[c * inner] / scale);
      }
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// MeanVarianceNormalization (opsets 9, 13): x and attribute axes (default
// [0, 2, 3]). y = (x - mean) / (sqrt(mean(x^2) - mean^2) + 1e-9), the
// moments taken over `axes` in double, as ONNX's reference computes them.
Status MeanVarianceNormalization(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return UnsupportedType(ctx, x);
  std::vector<int64_t> axes = ctx.HasAttr("axes") ? ctx.Ints("axes") : std::vector<int64_t>{0, 2, 3};
  const int64_t rank = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) {
      return ctx.Error("axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    }
    reduced[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
  }
  // Each element's group: its index with the reduced dims dropped.
  std::vector<int64_t> group_stride(static_cast<size_t>(rank), 0);
  int64_t groups = 1;
  for (int64_t d = rank; d-- > 0;) {
    if (reduced[static_cast<size_t>(d)]) continue;
    group_stride[static_cast<size_t>(d)] = groups;
    groups *= x.dim(d);
  }
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, x.shape());
  if (!out.ok()) return out.status();
  if (x.size() == 0) {
    ctx.set_output(0, std::move(out).value());
    return Status::OK();
  }
  std::vector<int64_t> group(static_cast<size_t>(x.size()));
  std::vector<int64_t> index(static_cast<size_t>(rank), 0);
  for (int64_t e = 0; e < x.size(); ++e) {
    int64_t g = 0;
    for (int64_t d = 0; d < rank; ++d) g += index[static_cast<size_t>(d)] * group_stride[static_cast<size_t>(d)];
    group[static_cast<size_t>(e)] = g;
    for (int64_t d = rank; d-- > 0;) {
      if (++index[static_cast<size_t>(d)] < x.dim(d)) break;
      index[static_cast<size_t>(d)] = 0;
    }
  }
  std::vector<double> sum(static_cast<size_t>(groups), 0), sum_sq(static_cast<size_t>(groups), 0);
  const float* px = x.data<float>();
  for (int64_t e = 0; e < x.size(); ++e) {
    const double v = px[e];
    sum[static_cast<size_t>(group[static_cast<size_t>(e)])] += v;
    sum_sq[static_cast<size_t>(group[static_cast<size_t>(e)])] += v * v;
  }
  const double count = static_cast<double>(x.size() / groups);
  float* py = out->data<float>();
  for (int64_t e = 0; e < x.size(); ++e) {
    const size_t g = static_cast<size_t>(group[static_cast<size_t>(e)]);
    const double mean = sum[g] / count;
    const double sd = std::sqrt(std::max(0.0, sum_sq[g] / count - mean * mean));
    py[e] = static_cast<float>((px[e] - mean) / (sd + 1e-9));
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& NormalizationKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"BatchNormalization", "", 1, 0, BatchNormalization},
      {"LayerNormalization", "", 17, 0, LayerNormalization},
      {"InstanceNormalization", "", 1, 0, InstanceNormalization},
      {"LRN", "", 1, 0, Lrn},
      {"MeanVarianceNormalization", "", 9, 0, MeanVarianceNormalization},
  };
  return kKernels;
}

}  // namespace pq::exec
