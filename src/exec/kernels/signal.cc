// Signal kernels of pq's executor: the window generators HannWindow,
// HammingWindow and BlackmanWindow (opset 17).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"
#include "exec/kernels/signal_inputs.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

enum class Window { kHann, kHamming, kBlackman };

// The window's value at n of a period `period`, in double as ONNX's
// reference computes it.
template <Window kWindow>
double WindowAt(double n, double period) {
  constexpr double kPi = 3.14159265358979323846;
  if constexpr (kWindow == Window::kHann) {
    const double s = std::sin(n * kPi / period);
    return s * s;
  } else if constexpr (kWindow == Window::kHamming) {
    constexpr double kAlpha = 25.0 / 46.0;
    return kAlpha - std::cos(n * kPi * 2 / period) * (1 - kAlpha);
  } else {
    return 0.42 - 0.5 * std::cos(n * kPi * 2 / period) + 0.08 * std::cos(n * kPi * 4 / period);
  }
}

// Input 0: the window length, one int32/int64 value >= 0. Attributes
// periodic (1: period = length, 0: period = length - 1) and
// output_datatype (default float). Output: [length].
template <Window kWindow>
Status MakeWindow(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& size_t_in = ctx.input(0);
  if ((size_t_in.dtype() != kInt32 && size_t_in.dtype() != kInt64) || size_t_in.size() != 1) {
    return ctx.Error("size must be one int32 or int64 value, got " +
                     DataTypeName(size_t_in.dtype()) + " " + ShapeToString(size_t_in.shape()));
  }
  const int64_t size = size_t_in.dtype() == kInt64 ? size_t_in.data<int64_t>()[0]
                                                   : size_t_in.data<int32_t>()[0];
  if (size < 0) return ctx.Error("size must be >= 0, got " + std::to_string(size));
  const int64_t periodic = ctx.Int("periodic", 1);
  if (periodic != 0 && periodic != 1) {
    return ctx.Error("periodic must be 0 or 1, got " + std::to_string(periodic));
  }
  int32_t dtype = kFloat;
  PQ_RETURN_IF_ERROR(signal::OutputDatatype(ctx, &dtype));
  Result<Tensor> out = ctx.AllocateUninitialized(dtype, {size});
  if (!out.ok()) return out.status();
  const double period = static_cast<double>(periodic == 1 ? size : size - 1);
  const int64_t element = ExecutorElementSize(dtype);
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t n = 0; n < size; ++n) {
    movement::StoreAs(dtype, WindowAt<kWindow>(static_cast<double>(n), period), dst + n * element);
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& SignalKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"HannWindow", "", 17, 0, MakeWindow<Window::kHann>},
      {"HammingWindow", "", 17, 0, MakeWindow<Window::kHamming>},
      {"BlackmanWindow", "", 17, 0, MakeWindow<Window::kBlackman>},
  };
  return kKernels;
}

}  // namespace pq::exec
