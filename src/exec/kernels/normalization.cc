// Normalization kernels of pq's executor: BatchNormalization (inference),
// LayerNormalization, InstanceNormalization.
#include <cmath>

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

}  // namespace

const std::vector<KernelDef>& NormalizationKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"BatchNormalization", "", 1, 0, BatchNormalization},
      {"LayerNormalization", "", 17, 0, LayerNormalization},
      {"InstanceNormalization", "", 1, 0, InstanceNormalization},
  };
  return kKernels;
}

}  // namespace pq::exec
