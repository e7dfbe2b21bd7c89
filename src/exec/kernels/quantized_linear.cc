// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear (ai.onnx).
//
// Granularity follows the shape of the scale: one element = per-tensor; a
// 1-D scale of x's length at `axis` = per-axis (opset >= 13); the shape of x
// with dim `axis` replaced by ceil(D / block_size) = blocked (opset >= 21).
// Zero points have the shape of the scale. 4-bit types are held unpacked,
// one value per byte (see quantized_util.h).

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/quantized_util.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace quantized {
namespace {

// How a scale / zero-point tensor maps onto x viewed as [outer, axis_dim,
// inner]: element (o, a, i) uses parameter Base(o, a) + i * InnerStep().
struct ParamLayout {
  enum class Kind { kPerTensor, kPerAxis, kBlocked };
  Kind kind = Kind::kPerTensor;
  int64_t outer = 1;
  int64_t axis_dim = 1;
  int64_t inner = 1;
  int64_t block_size = 1;  // kBlocked only
  int64_t blocks = 1;      // kBlocked only: the scale's dim at the axis

  int64_t Base(int64_t o, int64_t a) const {
    switch (kind) {
      case Kind::kPerAxis: return a;
      case Kind::kBlocked: return (o * blocks + a / block_size) * inner;
      case Kind::kPerTensor: break;
    }
    return 0;
  }
  int64_t InnerStep() const { return kind == Kind::kBlocked ? 1 : 0; }
};

// Works out the granularity of `scale` (named `what` in errors) for x of
// shape `x_shape` from the node's axis / block_size attributes and opset.
Result<ParamLayout> ResolveParamLayout(const KernelContext& ctx,
                                       const std::vector<int64_t>& x_shape,
                                       const Tensor& scale, const std::string& what) {
  ParamLayout layout;
  for (int64_t d : x_shape) layout.inner *= d;
  const int64_t block_size = ctx.opset() >= 21 ? ctx.Int("block_size", 0) : 0;
  if (block_size < 0) return ctx.Error("block_size must be >= 0, got " + std::to_string(block_size));
  if (scale.size() == 1) return layout;
  const std::string shape = ShapeToString(scale.shape());
  if (ctx.opset() < 13) {
    return ctx.Error(what + " must be a scalar (per-tensor quantization) at opset " +
                     std::to_string(ctx.opset()) + ", got shape " + shape);
  }
  const int64_t rank = static_cast<int64_t>(x_shape.size());
  int64_t axis = ctx.Int("axis", 1);
  if (axis < -rank || axis >= rank) {
    return ctx.Error("axis " + std::to_string(axis) + " is out of range for x of shape " +
                     ShapeToString(x_shape) + " (a non-scalar " + what + " needs an axis)");
  }
  if (axis < 0) axis += rank;
  layout.outer = 1;
  layout.inner = 1;
  for (int64_t d = 0; d < axis; ++d) layout.outer *= x_shape[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) layout.inner *= x_shape[static_cast<size_t>(d)];
  layout.axis_dim = x_shape[static_cast<size_t>(axis)];
  if (block_size == 0) {
    if (scale.rank() != 1 || scale.dim(0) != layout.axis_dim) {
      return ctx.Error(what + " has shape " + shape + "; expected one element (per-tensor) or [" +
                       std::to_string(layout.axis_dim) + "] (per-axis: x " +
                       ShapeToString(x_shape) + " at axis " + std::to_string(axis) + ")");
    }
    layout.kind = ParamLayout::Kind::kPerAxis;
    return layout;
  }
  std::vector<int64_t> expected = x_shape;
  expected[static_cast<size_t>(axis)] = (layout.axis_dim + block_size - 1) / block_size;
  if (scale.shape() != expected) {
    return ctx.Error(what + " has shape " + shape + "; blocked quantization of x " +
                     ShapeToString(x_shape) + " with block_size " + std::to_string(block_size) +
                     " at axis " + std::to_string(axis) + " expects " + ShapeToString(expected));
  }
  layout.kind = ParamLayout::Kind::kBlocked;
  layout.block_size = block_size;
  layout.blocks = expected[static_cast<size_t>(axis)];
  return layout;
}

// Errors unless the zero point (input `zp_index`) has the scale's shape (or
// both hold a single element).
Status CheckZeroPointShape(const KernelContext& ctx, int zp_index, const Tensor& scale,
                           const std::string& what) {
  const Tensor& zp = ctx.input(zp_index);
  if (zp.shape() == scale.shape() || (zp.size() == 1 && scale.size() == 1)) return Status::OK();
  return ctx.Error(what + " has shape " + ShapeToString(zp.shape()) +
                   ", expected the scale's shape " + ShapeToString(scale.shape()));
}

// Calls fn(x_index, param_index) for every element of x under `layout`.
template <typename Fn>
void ForEachWithParam(const ParamLayout& layout, Fn fn) {
  const int64_t step = layout.InnerStep();
  for (int64_t o = 0; o < layout.outer; ++o) {
    for (int64_t a = 0; a < layout.axis_dim; ++a) {
      const int64_t base = layout.Base(o, a);
      const int64_t row = (o * layout.axis_dim + a) * layout.inner;
      for (int64_t i = 0; i < layout.inner; ++i) fn(row + i, base + i * step);
    }
  }
}

// y = saturate(round_half_to_even(x / y_scale) + y_zero_point). Inputs x
// (float or int32), y_scale (float), y_zero_point (optional). The output type
// is y_zero_point's, else output_dtype (opset >= 21), else uint8.
Status QuantizeLinear(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "x", {kFloat, kInt32}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "y_scale", {kFloat}));
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const bool has_zp = ctx.has_input(2);
  const int64_t output_dtype = ctx.opset() >= 21 ? ctx.Int("output_dtype", 0) : 0;
  int32_t target = output_dtype != 0 ? static_cast<int32_t>(output_dtype) : kUint8;
  if (has_zp) {
    PQ_RETURN_IF_ERROR(CheckType(ctx, 2, "y_zero_point", {kUint8, kInt8}));
    const int32_t zp_type = ctx.input(2).dtype();
    if (output_dtype != 0 && (!QuantRange(target) || HolderType(target) != zp_type)) {
      return ctx.Error("output_dtype " + DataTypeName(target) + " does not match y_zero_point's type " +
                       DataTypeName(zp_type));
    }
    if (output_dtype == 0) target = zp_type;
  }
  const std::optional<IntRange> range = QuantRange(target);
  if (!range) {
    return ctx.Unsupported("quantization to " + DataTypeName(target) +
                           " is not supported (uint8, int8, uint4 and int4 are)");
  }
  const int64_t precision = ctx.opset() >= 23 ? ctx.Int("precision", 0) : 0;
  if (precision != 0 && precision != kFloat && precision != kDouble) {
    return ctx.Unsupported("precision " + DataTypeName(static_cast<int32_t>(precision)) +
                           " is not supported (float and double are)");
  }
  Result<ParamLayout> layout = ResolveParamLayout(ctx, x.shape(), scale, "y_scale");
  if (!layout.ok()) return layout.status();
  if (has_zp) PQ_RETURN_IF_ERROR(CheckZeroPointShape(ctx, 2, scale, "y_zero_point"));
  Result<Tensor> y = ctx.Allocate(HolderType(target), x.shape());
  if (!y.ok()) return y.status();
  const float* s = scale.data<float>();
  const Tensor* zp = has_zp ? &ctx.input(2) : nullptr;
  // The division runs in float for float x (ONNX: the scale's type sets its
  // precision) and in double for int32 x or precision = double.
  const bool float_division = x.dtype() == kFloat && precision != kDouble;
  Tensor& out = y.value();
  ForEachWithParam(layout.value(), [&](int64_t i, int64_t p) {
    double q;
    if (float_division) {
      q = x.data<float>()[i] / s[p];
    } else {
      const double xv = x.dtype() == kFloat ? x.data<float>()[i] : x.data<int32_t>()[i];
      q = xv / static_cast<double>(s[p]);
    }
    StoreInt8(&out, i, RoundAddSaturate(q, zp != nullptr ? IntAt(*zp, p) : 0, *range));
  });
  ctx.set_output(0, std::move(out));
  return Status::OK();
}

// y = (x - x_zero_point) * x_scale as float. Inputs x (uint8, int8 or int32;
// 4-bit values arrive unpacked in uint8/int8), x_scale (float), x_zero_point
// (optional, x's type).
Status DequantizeLinear(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0, 1}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "x", {kUint8, kInt8, kInt32}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 1, "x_scale", {kFloat}));
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const bool has_zp = ctx.has_input(2);
  if (has_zp && ctx.input(2).dtype() != x.dtype()) {
    return ctx.Error("x_zero_point must have x's type " + DataTypeName(x.dtype()) + ", got " +
                     DataTypeName(ctx.input(2).dtype()));
  }
  const int64_t output_dtype = ctx.opset() >= 23 ? ctx.Int("output_dtype", 0) : 0;
  if (output_dtype != 0 && output_dtype != kFloat && output_dtype != kFloat16) {
    return ctx.Unsupported("output_dtype " + DataTypeName(static_cast<int32_t>(output_dtype)) +
                           " is not supported (float and float16 are)");
  }
  Result<ParamLayout> layout = ResolveParamLayout(ctx, x.shape(), scale, "x_scale");
  if (!layout.ok()) return layout.status();
  if (has_zp) PQ_RETURN_IF_ERROR(CheckZeroPointShape(ctx, 2, scale, "x_zero_point"));
  Result<Tensor> y = ctx.Allocate(kFloat, x.shape());
  if (!y.ok()) return y.status();
  const float* s = scale.data<float>();
  const Tensor* zp = has_zp ? &ctx.input(2) : nullptr;
  float* out = y->data<float>();
  ForEachWithParam(layout.value(), [&](int64_t i, int64_t p) {
    const int64_t diff = int64_t{IntAt(x, i)} - (zp != nullptr ? IntAt(*zp, p) : 0);
    out[i] = static_cast<float>(diff) * s[p];
  });
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// Outputs y (uint8), y_scale (float scalar), y_zero_point (uint8 scalar) for
// float x, as the ONNX spec: the range [min(0, min x), max(0, max x)] maps
// to [0, 255]; an all-zero x gets scale 1 (as ONNX's reference).
Status DynamicQuantizeLinear(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(CheckInputs(ctx, {0}));
  PQ_RETURN_IF_ERROR(CheckType(ctx, 0, "x", {kFloat}));
  const Tensor& x = ctx.input(0);
  const float* xv = x.data<float>();
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < x.size(); ++i) {
    lo = std::min(lo, xv[i]);
    hi = std::max(hi, xv[i]);
  }
  constexpr IntRange kRange{0, 255};
  const float scale = hi == lo ? 1.0f : (hi - lo) / static_cast<float>(kRange.hi - kRange.lo);
  const float initial_zp = static_cast<float>(kRange.lo) - lo / scale;
  const float clamped_zp = std::min(std::max(initial_zp, 0.0f), 255.0f);
  const int32_t zp = static_cast<int32_t>(std::nearbyint(clamped_zp));
  Result<Tensor> y = ctx.Allocate(kUint8, x.shape());
  if (!y.ok()) return y.status();
  uint8_t* out = y->data<uint8_t>();
  for (int64_t i = 0; i < x.size(); ++i) {
    out[i] = static_cast<uint8_t>(RoundAddSaturate(xv[i] / scale, zp, kRange));
  }
  Result<Tensor> y_scale = ctx.Allocate(kFloat, {});
  Result<Tensor> y_zp = ctx.Allocate(kUint8, {});
  if (!y_scale.ok()) return y_scale.status();
  if (!y_zp.ok()) return y_zp.status();
  y_scale->data<float>()[0] = scale;
  y_zp->data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  ctx.set_output(0, std::move(y).value());
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(y_scale).value());
  if (ctx.num_outputs() > 2) ctx.set_output(2, std::move(y_zp).value());
  return Status::OK();
}

}  // namespace
}  // namespace quantized

const std::vector<KernelDef>& QuantizedLinearKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"QuantizeLinear", "", 10, 25, quantized::QuantizeLinear},
      {"DequantizeLinear", "", 10, 25, quantized::DequantizeLinear},
      {"DynamicQuantizeLinear", "", 11, 0, quantized::DynamicQuantizeLinear},
  };
  return kKernels;
}

}  // namespace pq::exec
