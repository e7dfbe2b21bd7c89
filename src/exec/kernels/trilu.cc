// Trilu: keeps the upper or lower triangle of the last two dims of a tensor
// and zeroes the rest. It moves bytes, so it serves every executor dtype
// (zero is all-zero bytes for each of them).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace {

// Trilu (opset 14): input 0 of rank >= 2, optional input 1 a one-element
// int64 k (default 0), attribute upper (default 1). Element (i, j) of each
// matrix is kept when j - i >= k (upper) or j - i <= k (lower).
Status Trilu(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) {
    return ctx.Error("input must have rank >= 2, got " + ShapeToString(x.shape()));
  }
  int64_t k = 0;
  if (ctx.has_input(1)) {
    Result<std::vector<int64_t>> ks = ctx.InputAsInts(1);
    if (!ks.ok()) return ks.status();
    if (ks->size() != 1) {
      return ctx.Error("k must hold one value, got shape " + ShapeToString(ctx.input(1).shape()));
    }
    k = ks.value()[0];
  }
  const int64_t upper = ctx.Int("upper", 1);
  if (upper != 0 && upper != 1) {
    return ctx.Error("upper must be 0 or 1, got " + std::to_string(upper));
  }
  Result<Tensor> out = ctx.Allocate(x.dtype(), x.shape());  // zero-filled
  if (!out.ok()) return out.status();
  const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  const int64_t matrices = movement::Product(x.shape(), 0, x.shape().size() - 2);
  const int64_t element = ExecutorElementSize(x.dtype());
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t m = 0; m < matrices; ++m) {
    for (int64_t i = 0; i < rows; ++i) {
      // Kept columns of row i: [i + k, cols) upper, [0, i + k] lower, clamped
      // to [0, cols] without overflowing for any int64 k.
      int64_t begin = 0, end = cols;
      if (upper == 1) {
        begin = k >= cols ? cols : (k <= -rows ? 0 : std::clamp<int64_t>(i + k, 0, cols));
      } else {
        end = k >= cols ? cols : (k <= -rows ? 0 : std::clamp<int64_t>(i + k + 1, 0, cols));
      }
      if (begin >= end) continue;
      const int64_t offset = ((m * rows + i) * cols + begin) * element;
      std::memcpy(dst + offset, src + offset, static_cast<size_t>((end - begin) * element));
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& TriluKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Trilu", "", 14, 0, Trilu},
  };
  return kKernels;
}

}  // namespace pq::exec
