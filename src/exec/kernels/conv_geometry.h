// Window geometry shared by Conv, ConvTranspose and the pooling kernels:
// kernel size, strides, dilations and pads per spatial axis, as ONNX
// defines them (including auto_pad).
#ifndef PQ_EXEC_KERNELS_CONV_GEOMETRY_H_
#define PQ_EXEC_KERNELS_CONV_GEOMETRY_H_

#include <cstdint>
#include <vector>

#include "exec/kernel.h"

namespace pq::exec {

struct WindowGeometry {
  std::vector<int64_t> kernel;     // per spatial axis
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;
  std::vector<int64_t> input;      // spatial input sizes
  std::vector<int64_t> output;     // spatial output sizes
};

// Reads kernel_shape (or `kernel` when given), strides, dilations, pads and
// auto_pad of a Conv/pooling node for `input_spatial` and computes output
// sizes (floor, or ceil when `ceil_mode`). Errors name the node.
Status ComputeWindowGeometry(const KernelContext& ctx, const std::vector<int64_t>& input_spatial,
                             const std::vector<int64_t>& kernel, bool ceil_mode,
                             WindowGeometry* geometry);

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_CONV_GEOMETRY_H_
