// RMS normalization kernels of pq's executor, as decoder LLM exports use them:
//
//   SimplifiedLayerNormalization (ORT registers it in the default domain,
//   opset 1; pq also accepts it in com.microsoft):
//     Y = X / sqrt(mean(X^2 over axes [axis, rank)) + epsilon) * scale
//   SkipSimplifiedLayerNormalization (com.microsoft):
//     S = input + skip (+ bias);  output = S / sqrt(mean(S^2) + epsilon) * gamma
//     over the last axis, with S itself as output 3 (input_skip_bias_sum,
//     the residual stream of onnxruntime-genai exports).
//
// Sums of squares are accumulated in double whatever stash_type says, except
// for float16 inputs: there both ops compute as ONNX Runtime's float16 CPU
// kernels do, in float, summing the squares one rounded product at a time
// and dividing by the RMS before scaling (OrtFloatRms), so that a float16
// model's normalized values round as ORT's do. (This file is compiled with
// -ffp-contract=off, so no fused multiply-add changes those roundings.) Each
// normalized row is computed by one thread, so results do not depend on the
// thread count.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"

namespace pq::exec {
namespace {

// Returns 1 / sqrt(mean(x[i]^2) + epsilon) over `n` floats.
double InverseRms(const float* x, int64_t n, float epsilon) {
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(x[i]) * x[i];
  return 1.0 / std::sqrt(sq / static_cast<double>(n) + epsilon);
}

// sqrt(mean(x[i]^2) + epsilon) over `n` floats, in float as ONNX Runtime's
// float16 kernels compute it: squares rounded, added left to right.
float OrtFloatRms(const float* x, int64_t n, float epsilon) {
  float sq = 0.0f;
  for (int64_t i = 0; i < n; ++i) sq += x[i] * x[i];
  return std::sqrt(sq / static_cast<float>(n) + epsilon);
}

// Errors unless input `i` is a float tensor.
Status CheckFloat(const KernelContext& ctx, int i, const char* what) {
  if (!ctx.has_input(i)) return ctx.Error(std::string("required input '") + what + "' is missing");
  if (ctx.input(i).dtype() != kFloat) {
    return ctx.Unsupported(std::string("input '") + what + "' of type " +
                           DataTypeName(ctx.input(i).dtype()) + " is not supported (float is)");
  }
  return Status::OK();
}

// Errors unless input `i` (`what`) holds exactly `n` values (or 1 when
// `allow_scalar`).
Status CheckLength(const KernelContext& ctx, int i, const char* what, int64_t n,
                   bool allow_scalar) {
  const Tensor& t = ctx.input(i);
  if (t.size() == n || (allow_scalar && t.size() == 1)) return Status::OK();
  return ctx.Error(std::string("input '") + what + "' has shape " + ShapeToString(t.shape()) +
                   ", expected " + std::to_string(n) + " values (the normalized size)");
}

// Inputs X, scale; attributes axis (default -1), epsilon (default 1e-5),
// stash_type (ignored: double accumulation). Outputs Y and, optionally,
// inv_std_var with X's shape but 1 from `axis` on.
Status SimplifiedLayerNormalization(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(2));
  PQ_RETURN_IF_ERROR(CheckFloat(ctx, 0, "X"));
  PQ_RETURN_IF_ERROR(CheckFloat(ctx, 1, "scale"));
  if (ctx.num_inputs() > 2 && ctx.has_input(2)) {
    return ctx.Error("takes 2 inputs (X, scale), got " + std::to_string(ctx.num_inputs()));
  }
  const Tensor& x = ctx.input(0);
  const int64_t axis_attr = ctx.Int("axis", -1);
  const int64_t axis = axis_attr < 0 ? axis_attr + x.rank() : axis_attr;
  if (axis < 0 || axis >= x.rank()) {
    return ctx.Error("axis " + std::to_string(axis_attr) + " is out of range for X " +
                     ShapeToString(x.shape()));
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? outer : inner) *= x.dim(d);
  PQ_RETURN_IF_ERROR(CheckLength(ctx, 1, "scale", inner, true));
  const float epsilon = ctx.Float("epsilon", 1e-5f);
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, x.shape());
  if (!y.ok()) return y.status();
  std::vector<int64_t> stat_shape = x.shape();
  for (int64_t d = axis; d < x.rank(); ++d) stat_shape[static_cast<size_t>(d)] = 1;
  Result<Tensor> inv = ctx.Allocate(kFloat, stat_shape);  // stays 0 when `inner` is 0
  if (!inv.ok()) return inv.status();
  const float* px = x.data<float>();
  const float* scale = ctx.input(1).data<float>();
  const bool scalar_scale = ctx.input(1).size() == 1 && inner != 1;
  float* py = y->data<float>();
  float* pinv = inv->data<float>();
  const int threads = x.size() >= kElementwiseMinParallel ? ctx.threads() : 1;
  const bool half = ctx.input_type(0) == kFloat16;
  ParallelFor(inner > 0 ? outer : 0, threads, [&](int64_t o) {
    const float* row = px + o * inner;
    if (half) {
      const float rms = OrtFloatRms(row, inner, epsilon);
      for (int64_t i = 0; i < inner; ++i) py[o * inner + i] = row[i] / rms * scale[scalar_scale ? 0 : i];
      pinv[o] = 1.0f / rms;
      return;
    }
    const double r = InverseRms(row, inner, epsilon);
    for (int64_t i = 0; i < inner; ++i) {
      py[o * inner + i] = static_cast<float>(row[i] * r) * scale[scalar_scale ? 0 : i];
    }
    pinv[o] = static_cast<float>(r);
  });
  ctx.set_output(0, std::move(y).value());
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(inv).value());
  return Status::OK();
}

// Errors unless `skip` broadcasts onto `input` as onnxruntime allows: the
// same shape, or input's trailing dims after leading 1s ([S, H] or
// [1, S, H] for a [B, S, H] input). Element j of a row-major walk over
// input then pairs with skip element j % skip.size().
Status CheckSkipShape(const KernelContext& ctx, const Tensor& input, const Tensor& skip) {
  int64_t first = 0;  // the first kept dim of skip: leading 1s dropped, the last dim kept
  while (first + 1 < skip.rank() && skip.dim(first) == 1) ++first;
  bool fits = skip.rank() >= 1 && skip.rank() <= input.rank();
  for (int64_t d = first; fits && d < skip.rank(); ++d) {
    fits = skip.dim(d) == input.dim(input.rank() - skip.rank() + d);
  }
  if (fits) return Status::OK();
  return ctx.Error("skip has shape " + ShapeToString(skip.shape()) + ", expected input's shape " +
                   ShapeToString(input.shape()) + " or its trailing dims");
}

// Inputs input ([B, S, H] or [T, H]), skip (input's shape, or its trailing
// dims), gamma [H], bias [H] (optional); attribute epsilon (default 1e-12,
// onnxruntime's). Outputs output; mean (all zeros: RMS normalization
// subtracts none); inv_std_var [.., 1]; input_skip_bias_sum (input's shape).
Status SkipSimplifiedLayerNormalization(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(4));
  PQ_RETURN_IF_ERROR(CheckFloat(ctx, 0, "input"));
  PQ_RETURN_IF_ERROR(CheckFloat(ctx, 1, "skip"));
  PQ_RETURN_IF_ERROR(CheckFloat(ctx, 2, "gamma"));
  const Tensor& input = ctx.input(0);
  const Tensor& skip = ctx.input(1);
  if (input.rank() != 2 && input.rank() != 3) {
    return ctx.Error("input has shape " + ShapeToString(input.shape()) +
                     ", expected [batch, sequence, hidden] or [tokens, hidden]");
  }
  PQ_RETURN_IF_ERROR(CheckSkipShape(ctx, input, skip));
  const int64_t hidden = input.dim(input.rank() - 1);
  const int64_t rows = hidden > 0 ? input.size() / hidden : 0;
  PQ_RETURN_IF_ERROR(CheckLength(ctx, 2, "gamma", hidden, false));
  const float* bias = nullptr;
  if (ctx.has_input(3)) {
    PQ_RETURN_IF_ERROR(CheckFloat(ctx, 3, "bias"));
    PQ_RETURN_IF_ERROR(CheckLength(ctx, 3, "bias", hidden, false));
    bias = ctx.input(3).data<float>();
  }
  const float epsilon = ctx.Float("epsilon", 1e-12f);
  std::vector<int64_t> stat_shape = input.shape();
  stat_shape.back() = 1;
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, input.shape());
  Result<Tensor> sum = ctx.AllocateUninitialized(kFloat, input.shape());
  Result<Tensor> mean = ctx.Allocate(kFloat, stat_shape);
  Result<Tensor> inv = ctx.Allocate(kFloat, stat_shape);
  for (const Result<Tensor>* t : {&out, &sum, &mean, &inv}) {
    if (!t->ok()) return t->status();
  }
  const float* pin = input.data<float>();
  const float* pskip = skip.data<float>();
  const int64_t skip_size = skip.size();
  const float* gamma = ctx.input(2).data<float>();
  float* pout = out->data<float>();
  float* psum = sum->data<float>();
  float* pinv = inv->data<float>();
  const int threads = input.size() >= kElementwiseMinParallel ? ctx.threads() : 1;
  const bool half = ctx.input_type(0) == kFloat16;
  ParallelFor(rows, threads, [&](int64_t r) {
    float* s = psum + r * hidden;
    const float* sk = pskip + (r * hidden) % skip_size;
    for (int64_t i = 0; i < hidden; ++i) {
      s[i] = pin[r * hidden + i] + sk[i] + (bias != nullptr ? bias[i] : 0.0f);
    }
    if (half) {
      const float rms = OrtFloatRms(s, hidden, epsilon);
      for (int64_t i = 0; i < hidden; ++i) pout[r * hidden + i] = s[i] / rms * gamma[i];
      pinv[r] = 1.0f / rms;
      return;
    }
    const double inv_rms = InverseRms(s, hidden, epsilon);
    for (int64_t i = 0; i < hidden; ++i) {
      pout[r * hidden + i] = static_cast<float>(s[i] * inv_rms) * gamma[i];
    }
    pinv[r] = static_cast<float>(inv_rms);
  });
  ctx.set_output(0, std::move(out).value());
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(mean).value());
  if (ctx.num_outputs() > 2) ctx.set_output(2, std::move(inv).value());
  if (ctx.num_outputs() > 3) ctx.set_output(3, std::move(sum).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& RmsNormKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"SimplifiedLayerNormalization", "", 1, 0, SimplifiedLayerNormalization},
      {"SimplifiedLayerNormalization", "com.microsoft", 1, 0, SimplifiedLayerNormalization},
      {"SkipSimplifiedLayerNormalization", "com.microsoft", 1, 0, SkipSimplifiedLayerNormalization},
  };
  return kKernels;
}

}  // namespace pq::exec
