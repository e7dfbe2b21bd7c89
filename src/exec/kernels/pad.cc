// The Pad kernel: modes constant, reflect, edge and wrap (opset 19); pads as
// the `paddings` (opset 1) or `pads` attribute (opset 2-10) or as inputs
// pads, constant_value, axes (opset 11+, axes from opset 18). Negative pads
// crop.

#include <cstring>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace movement {
namespace {

// For each output coordinate of one axis, the input coordinate it reads, or
// -1 for the constant value. REQUIRES: `mode` is not "constant" only when
// dim > 0.
std::vector<int64_t> PadSourceMap(int64_t dim, int64_t begin, int64_t out_dim,
                                  const std::string& mode) {
  std::vector<int64_t> map(static_cast<size_t>(out_dim));
  for (int64_t o = 0; o < out_dim; ++o) {
    int64_t c = o - begin;
    if (c < 0 || c >= dim) {
      if (mode == "constant") {
        c = -1;
      } else if (mode == "edge") {
        c = c < 0 ? 0 : dim - 1;
      } else if (mode == "wrap") {
        c = ((c % dim) + dim) % dim;
      } else if (dim == 1) {  // reflect of a single element repeats it
        c = 0;
      } else {  // reflect: period 2 * (dim - 1), mirrored about both edges
        const int64_t period = 2 * (dim - 1);
        c = ((c % period) + period) % period;
        if (c >= dim) c = period - c;
      }
    }
    map[static_cast<size_t>(o)] = c;
  }
  return map;
}

// Reads the pads and the padded axes; fills begin/end per dim of `rank`.
Status PadAmounts(const KernelContext& ctx, int64_t rank, std::vector<int64_t>* begin,
                  std::vector<int64_t>* end) {
  std::vector<int64_t> pads, axes;
  if (ctx.opset() < 11) {
    pads = ctx.Ints(ctx.opset() < 2 ? "paddings" : "pads");
  } else {
    Result<std::vector<int64_t>> p = ctx.InputAsInts(1);
    if (!p.ok()) return p.status();
    pads = std::move(p).value();
    if (ctx.opset() >= 18 && ctx.has_input(3)) {
      Result<std::vector<int64_t>> a = ctx.InputAsInts(3);
      if (!a.ok()) return a.status();
      axes = std::move(a).value();
    }
  }
  if (axes.empty() && !(ctx.opset() >= 18 && ctx.has_input(3))) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  if (pads.size() != 2 * axes.size()) {
    return ctx.Error("pads " + ShapeToString(pads) + " must hold 2 x " +
                     std::to_string(axes.size()) + " values");
  }
  begin->assign(static_cast<size_t>(rank), 0);
  end->assign(static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a;
    if (!NormalizeAxis(axes[i], rank, &a)) {
      return ctx.Error(AxisError(axes[i], rank));
    }
    (*begin)[static_cast<size_t>(a)] = pads[i];
    (*end)[static_cast<size_t>(a)] = pads[i + axes.size()];
  }
  return Status::OK();
}

Status Pad(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  const std::string mode = ctx.String("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") {
    return ctx.Error("mode must be constant, reflect, edge or wrap, got '" + mode + "'");
  }
  std::vector<int64_t> begin, end;
  PQ_RETURN_IF_ERROR(PadAmounts(ctx, in.rank(), &begin, &end));
  std::vector<int64_t> shape(static_cast<size_t>(in.rank()));
  for (size_t d = 0; d < shape.size(); ++d) {
    if (__builtin_add_overflow(in.shape()[d], begin[d], &shape[d]) ||
        __builtin_add_overflow(shape[d], end[d], &shape[d]) || shape[d] < 0) {
      return ctx.Error("pads make dim " + std::to_string(d) + " of " + ShapeToString(in.shape()) +
                       " negative or too large");
    }
    if (mode != "constant" && in.shape()[d] == 0 && shape[d] > 0) {
      return ctx.Error("cannot " + mode + "-pad dim " + std::to_string(d) + " of size 0");
    }
  }
  // The constant as one element of the input's type.
  const int element = ExecutorElementSize(in.dtype());
  uint64_t value = 0;
  if (ctx.opset() < 11) {
    StoreAs(in.dtype(), ctx.Float("value", 0.0f), &value);
  } else if (ctx.has_input(2) && ctx.input(2).size() > 0) {
    if (ctx.input(2).dtype() != in.dtype()) {
      return ctx.Error("constant_value must have the input's type");
    }
    std::memcpy(&value, ctx.input(2).raw(), static_cast<size_t>(element));
  }
  Result<Tensor> out = ctx.Allocate(in.dtype(), shape);
  if (!out.ok()) return out.status();
  if (out->size() == 0) {
    ctx.set_output(0, std::move(out).value());
    return Status::OK();
  }
  if (in.rank() == 0) {
    std::memcpy(out->raw(), in.raw(), static_cast<size_t>(element));
    ctx.set_output(0, std::move(out).value());
    return Status::OK();
  }
  std::vector<std::vector<int64_t>> maps;
  for (size_t d = 0; d < shape.size(); ++d) {
    maps.push_back(PadSourceMap(in.shape()[d], begin[d], shape[d], mode));
  }
  const std::vector<int64_t> strides = DenseStrides(in.shape());
  const size_t rank = shape.size();
  const int64_t inner = shape[rank - 1];
  const std::vector<int64_t>& inner_map = maps[rank - 1];
  ForElementSize(element, [&](auto tag) {
    using U = decltype(tag);
    U fill;
    std::memcpy(&fill, &value, sizeof(U));
    const U* src = in.data<U>();
    U* dst = out->template data<U>();
    std::vector<int64_t> counter(rank, 0);
    for (int64_t o = 0; o < out->size(); o += inner) {
      // Source offset of the row, or -1 when an outer coordinate is padding.
      int64_t row = 0;
      for (size_t d = 0; d + 1 < rank && row >= 0; ++d) {
        const int64_t c = maps[d][static_cast<size_t>(counter[d])];
        row = c < 0 ? -1 : row + c * strides[d];
      }
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t c = inner_map[static_cast<size_t>(k)];
        dst[o + k] = (row < 0 || c < 0) ? fill : src[row + c];
      }
      for (size_t d = rank - 1; d-- > 0;) {
        if (++counter[d] < shape[d]) break;
        counter[d] = 0;
      }
    }
  });
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace
}  // namespace movement

const std::vector<KernelDef>& PadKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Pad", "", 1, 0, movement::Pad},
  };
  return kKernels;
}

}  // namespace pq::exec
