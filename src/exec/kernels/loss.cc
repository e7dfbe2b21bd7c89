// Loss kernels of pq's executor: NegativeLogLikelihoodLoss and
// SoftmaxCrossEntropyLoss (ai.onnx, opsets 12/13).
//
// Both take scores of shape [N, C, d1, ..., dk] (k >= 0) and integer labels
// of shape [N, d1, ..., dk], an optional per-class weight [C], the
// attributes reduction ("none", "sum" or "mean", default "mean") and
// ignore_index. Each position contributes -weight[t] * logp[n, t, d] where t
// is its label; positions whose label is ignore_index contribute nothing and
// weigh 0. "mean" divides the sum by the summed weights (or by the count of
// positions when neither weight nor ignore_index is given), as ONNX's
// reference does. Sums run in double in index order on one thread, so the
// result does not depend on the thread count.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

enum class Reduction { kNone, kSum, kMean };

// The checked operands of a loss node: scores viewed as [n, c, d].
struct LossShape {
  int64_t n = 0, c = 0, d = 0;
  Reduction reduction = Reduction::kMean;
  bool has_ignore = false;
  int64_t ignore_index = 0;
};

// Reads label `i` of an int32 or int64 tensor.
int64_t LabelAt(const Tensor& labels, int64_t i) {
  return labels.dtype() == kInt32 ? labels.data<int32_t>()[i] : labels.data<int64_t>()[i];
}

// Checks scores, labels, weight and attributes; fills `shape`.
Status CheckLossInputs(const KernelContext& ctx, LossShape* shape) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  const Tensor& labels = ctx.input(1);
  if (x.dtype() != kFloat) {
    return ctx.Unsupported("scores of type " + DataTypeName(x.dtype()) + " are not supported");
  }
  if (labels.dtype() != kInt32 && labels.dtype() != kInt64) {
    return ctx.Error("labels must be int32 or int64, got " + DataTypeName(labels.dtype()));
  }
  if (x.rank() < 2) {
    return ctx.Error("scores must have rank >= 2 ([N, C, ...]), got " + ShapeToString(x.shape()));
  }
  std::vector<int64_t> expected = {x.dim(0)};
  expected.insert(expected.end(), x.shape().begin() + 2, x.shape().end());
  if (labels.shape() != expected) {
    return ctx.Error("labels have shape " + ShapeToString(labels.shape()) + ", expected " +
                     ShapeToString(expected) + " for scores " + ShapeToString(x.shape()));
  }
  shape->n = x.dim(0);
  shape->c = x.dim(1);
  shape->d = movement::Product(x.shape(), 2, x.shape().size());
  if (ctx.has_input(2)) {
    const Tensor& w = ctx.input(2);
    if (w.dtype() != kFloat || w.shape() != std::vector<int64_t>{shape->c}) {
      return ctx.Error("weight must be float of shape [" + std::to_string(shape->c) + "], got " +
                       DataTypeName(w.dtype()) + " " + ShapeToString(w.shape()));
    }
  }
  const std::string reduction = ctx.String("reduction", "mean");
  if (reduction == "none") shape->reduction = Reduction::kNone;
  else if (reduction == "sum") shape->reduction = Reduction::kSum;
  else if (reduction == "mean") shape->reduction = Reduction::kMean;
  else return ctx.Error("reduction must be none, sum or mean, got '" + reduction + "'");
  shape->has_ignore = ctx.HasAttr("ignore_index");
  shape->ignore_index = ctx.Int("ignore_index", 0);
  return Status::OK();
}

// Computes the loss from log-probabilities `logp` ([n, c, d] row-major) and
// sets output 0: labels' shape for "none", a scalar otherwise.
Status SetLoss(KernelContext& ctx, const LossShape& s, const float* logp) {
  const Tensor& labels = ctx.input(1);
  const float* weight = ctx.has_input(2) ? ctx.input(2).data<float>() : nullptr;
  const bool none = s.reduction == Reduction::kNone;
  Result<Tensor> out = ctx.Allocate(kFloat, none ? labels.shape() : std::vector<int64_t>{});
  if (!out.ok()) return out.status();
  float* y = out->data<float>();
  double sum = 0, weight_sum = 0;
  for (int64_t i = 0; i < s.n; ++i) {
    for (int64_t j = 0; j < s.d; ++j) {
      const int64_t at = i * s.d + j;
      const int64_t t = LabelAt(labels, at);
      if (s.has_ignore && t == s.ignore_index) continue;  // loss 0, weight 0
      if (t < 0 || t >= s.c) {
        return ctx.Error("label " + std::to_string(t) + " at position " + std::to_string(at) +
                         " is out of range [0, " + std::to_string(s.c) + ")");
      }
      const float w = weight != nullptr ? weight[t] : 1.0f;
      const float loss = -logp[(i * s.c + t) * s.d + j] * w;
      if (none) y[at] = loss;
      sum += loss;
      weight_sum += w;
    }
  }
  if (s.reduction == Reduction::kSum) {
    y[0] = static_cast<float>(sum);
  } else if (s.reduction == Reduction::kMean) {
    const bool weighted = weight != nullptr || s.has_ignore;
    const double count = weighted ? weight_sum : static_cast<double>(s.n * s.d);
    y[0] = static_cast<float>(sum / count);
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// NegativeLogLikelihoodLoss: input 0 holds log-probabilities.
Status NegativeLogLikelihoodLoss(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(1));
  LossShape s;
  PQ_RETURN_IF_ERROR(CheckLossInputs(ctx, &s));
  return SetLoss(ctx, s, ctx.input(0).data<float>());
}

// SoftmaxCrossEntropyLoss: input 0 holds scores; log-softmax over C gives
// the log-probabilities, returned as the optional output 1.
Status SoftmaxCrossEntropyLoss(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(2));
  LossShape s;
  PQ_RETURN_IF_ERROR(CheckLossInputs(ctx, &s));
  const Tensor& x = ctx.input(0);
  Result<Tensor> logp = ctx.AllocateUninitialized(kFloat, x.shape());
  if (!logp.ok()) return logp.status();
  const float* px = x.data<float>();
  float* pl = logp->data<float>();
  for (int64_t i = 0; i < s.n; ++i) {
    for (int64_t j = 0; j < s.d; ++j) {
      const int64_t base = i * s.c * s.d + j;
      float max = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < s.c; ++k) max = std::fmax(max, px[base + k * s.d]);
      double sum = 0;
      for (int64_t k = 0; k < s.c; ++k) sum += std::exp(static_cast<double>(px[base + k * s.d]) - max);
      const double log_sum = std::log(sum);
      for (int64_t k = 0; k < s.c; ++k) {
        pl[base + k * s.d] =
            static_cast<float>(static_cast<double>(px[base + k * s.d]) - max - log_sum);
      }
    }
  }
  PQ_RETURN_IF_ERROR(SetLoss(ctx, s, pl));
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(logp).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& LossKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"NegativeLogLikelihoodLoss", "", 12, 0, NegativeLogLikelihoodLoss},
      {"SoftmaxCrossEntropyLoss", "", 12, 0, SoftmaxCrossEntropyLoss},
  };
  return kKernels;
}

}  // namespace pq::exec
