// Cast, CastLike and the pass-through kernels (Identity, Dropout at
// inference) of pq's executor. float16 and double are held as float.
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

// --------------------------------------------------------- cast and copies

// Converts one value of value type S to value type D. Float -> integer
// saturates (NaN -> 0); integer -> narrower integer wraps; -> bool is != 0.
template <typename S, typename D>
Stored<D> ConvertValue(Stored<S> v, bool round_to_half) {
  if constexpr (std::is_same_v<D, bool>) {
    return v != 0 ? 1 : 0;
  } else if constexpr (std::is_same_v<D, float>) {
    const float f = static_cast<float>(v);
    return round_to_half ? RoundToFloat16(f) : f;
  } else if constexpr (std::is_floating_point_v<S>) {
    return SaturatingCast<D>(static_cast<double>(v));
  } else {
    return static_cast<D>(v);
  }
}

// Casts `x` to ONNX type `to`; float16, bfloat16 and double targets stay
// float (half values rounded to the nearest half here, bfloat16 values by the
// executor, which rounds every bfloat16 value a kernel writes).
Status CastTo(KernelContext& ctx, const Tensor& x, int64_t to) {
  int32_t dtype = static_cast<int32_t>(to);
  bool round_to_half = false;
  switch (to) {
    case kFloat16: dtype = kFloat; round_to_half = true; break;
    case kBfloat16: case kDouble: dtype = kFloat; break;
    case kFloat: case kInt64: case kInt32: case kInt8: case kUint8: case kBool: break;
    default:
      return ctx.Unsupported("cast to " + DataTypeName(static_cast<int32_t>(to)) +
                             " is not supported");
  }
  if (x.dtype() == dtype && !round_to_half) {
    ctx.set_output(0, x);
    return Status::OK();
  }
  Result<Tensor> out = ctx.Allocate(dtype, x.shape());
  if (!out.ok()) return out.status();
  Tensor* o = &out.value();
  const bool known = DispatchAll(x.dtype(), [&](auto src_tag) {
    using S = decltype(src_tag);
    DispatchAll(dtype, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      MapElements<Stored<S>, Stored<D>>(x, o, ctx.threads(), [round_to_half](Stored<S> v) {
        return ConvertValue<S, D>(v, round_to_half);
      });
    });
  });
  if (!known) return UnsupportedType(ctx, x);
  return SetResult(ctx, 0, std::move(out));
}

Status Cast(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  if (!ctx.HasAttr("to")) return ctx.Error("attribute 'to' is required");
  return CastTo(ctx, ctx.input(0), ctx.Int("to", 0));
}

// CastLike: the target type is input 1's (float16/double are held as float,
// so those targets cast to float).
Status CastLike(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 2));
  return CastTo(ctx, ctx.input(0), ctx.input(1).dtype());
}

Status Identity(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  ctx.set_output(0, ctx.input(0));
  return Status::OK();
}

// Dropout at inference: output = input, mask all true. Training mode with a
// non-zero ratio is random and not supported. Before opset 12 the ratio is an
// attribute; before opset 10 the mask has the input's type.
Status Dropout(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (ctx.opset() >= 12 && ctx.has_input(2)) {
    const Tensor& mode = ctx.input(2);
    if (mode.dtype() != kBool || mode.size() != 1) {
      return ctx.Error("training_mode must be a bool scalar");
    }
    float ratio = 0.5f;
    if (ctx.has_input(1)) {
      if (ctx.input(1).dtype() != kFloat || ctx.input(1).size() != 1) {
        return ctx.Error("ratio must be a float scalar");
      }
      ratio = ctx.input(1).data<float>()[0];
    }
    if (mode.data<uint8_t>()[0] != 0 && ratio != 0.0f) {
      return ctx.Unsupported("training_mode with a non-zero ratio (random dropout)");
    }
  }
  ctx.set_output(0, x);
  if (ctx.num_outputs() > 1) {
    const int32_t mask_type = ctx.opset() >= 10 ? kBool : x.dtype();
    Result<Tensor> mask = ctx.Allocate(mask_type, x.shape());
    if (!mask.ok()) return mask.status();
    DispatchAll(mask_type, [&](auto tag) {
      using S = Stored<decltype(tag)>;
      S* p = mask->data<S>();
      for (int64_t i = 0; i < mask->size(); ++i) p[i] = S{1};
    });
    ctx.set_output(1, std::move(mask).value());
  }
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& CastKernels() {
  static const std::vector<KernelDef> kKernels = {
      // Casts and pass-through.
      {"Cast", "", 1, 0, Cast},
      {"CastLike", "", 15, 0, CastLike},
      {"Identity", "", 1, 0, Identity},
      {"Dropout", "", 1, 0, Dropout},
  };
  return kKernels;
}

}  // namespace pq::exec
