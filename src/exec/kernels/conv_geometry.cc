#include "exec/kernels/conv_geometry.h"

#include <algorithm>
#include <string>

namespace pq::exec {
namespace {

// Window attributes beyond this are refused: it keeps every sum and product
// below (sizes, pads, the dilated kernel extent) inside int64.
constexpr int64_t kMaxWindowValue = int64_t{1} << 30;

}  // namespace

Status ComputeWindowGeometry(const KernelContext& ctx, const std::vector<int64_t>& input_spatial,
                             const std::vector<int64_t>& kernel, bool ceil_mode,
                             WindowGeometry* g) {
  const size_t rank = input_spatial.size();
  g->input = input_spatial;
  g->kernel = kernel;
  if (g->kernel.size() != rank) {
    return ctx.Error("kernel_shape has " + std::to_string(g->kernel.size()) +
                     " dims, the input has " + std::to_string(rank) + " spatial dims");
  }
  g->strides = ctx.Ints("strides");
  if (g->strides.empty()) g->strides.assign(rank, 1);
  g->dilations = ctx.Ints("dilations");
  if (g->dilations.empty()) g->dilations.assign(rank, 1);
  std::vector<int64_t> pads = ctx.Ints("pads");
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (g->strides.size() != rank || g->dilations.size() != rank || pads.size() != 2 * rank) {
    return ctx.Error("strides, dilations and pads must match " + std::to_string(rank) +
                     " spatial dims");
  }
  for (size_t i = 0; i < rank; ++i) {
    if (g->kernel[i] <= 0 || g->strides[i] <= 0 || g->dilations[i] <= 0 || pads[i] < 0 ||
        pads[i + rank] < 0) {
      return ctx.Error("kernel, strides and dilations must be positive and pads non-negative");
    }
    if (g->kernel[i] > kMaxWindowValue || g->strides[i] > kMaxWindowValue ||
        g->dilations[i] > kMaxWindowValue || pads[i] > kMaxWindowValue ||
        pads[i + rank] > kMaxWindowValue || input_spatial[i] > kMaxWindowValue ||
        input_spatial[i] < 0) {
      return ctx.Error("kernel, strides, dilations, pads and spatial sizes must be in [0, " +
                       std::to_string(kMaxWindowValue) + "]");
    }
  }
  const std::string auto_pad = ctx.String("auto_pad", "NOTSET");
  g->pad_begin.assign(rank, 0);
  g->pad_end.assign(rank, 0);
  g->output.assign(rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t in = input_spatial[i];
    const int64_t effective = g->dilations[i] * (g->kernel[i] - 1) + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + g->strides[i] - 1) / g->strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * g->strides[i] + effective - in);
      g->pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g->pad_end[i] = total - g->pad_begin[i];
      g->output[i] = out;
      continue;
    }
    if (auto_pad == "VALID") {
      g->output[i] = (in - effective) / g->strides[i] + 1;
      if (in < effective) g->output[i] = 0;
      continue;
    }
    if (auto_pad != "NOTSET") return ctx.Unsupported("auto_pad '" + auto_pad + "'");
    g->pad_begin[i] = pads[i];
    g->pad_end[i] = pads[i + rank];
    const int64_t span = in + g->pad_begin[i] + g->pad_end[i] - effective;
    if (span < 0) {
      return ctx.Error("the window (" + std::to_string(effective) +
                       ") is larger than the padded input (" +
                       std::to_string(in + g->pad_begin[i] + g->pad_end[i]) + ")");
    }
    int64_t out = span / g->strides[i] + 1;
    if (ceil_mode) {
      out = (span + g->strides[i] - 1) / g->strides[i] + 1;
      // The last window must start inside the input or its leading pad.
      if ((out - 1) * g->strides[i] >= in + g->pad_begin[i]) --out;
    }
    g->output[i] = out;
  }
  return Status::OK();
}

}  // namespace pq::exec
