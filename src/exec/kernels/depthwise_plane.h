// One plane of a 2-D depthwise convolution (one input channel, one output
// channel), the inner loop of Conv's depthwise path (conv.cc).
#ifndef PQ_EXEC_KERNELS_DEPTHWISE_PLANE_H_
#define PQ_EXEC_KERNELS_DEPTHWISE_PLANE_H_

#include <cstddef>
#include <cstdint>

namespace pq::exec {

// Input and output sizes, kernel, strides, dilations and leading pads
// (top, left) of the plane.
struct DepthwisePlane {
  int64_t ih, iw, oh, ow;
  int64_t kh, kw;
  int64_t stride_y, stride_x, dilation_y, dilation_x;
  int64_t pad_top, pad_left;
};

// Floats of scratch DepthwisePlaneSum needs for `g`.
size_t DepthwiseScratchFloats(const DepthwisePlane& g);

// dst[oy * ow + ox] = the sum, from +0.0f and in (kernel row, kernel column)
// order, of taps[i * kw + j] * src at the tap's input position, taps outside
// the input skipped, each product rounded before it is added (the file is
// compiled without fused multiply-add). Every output is computed by the same
// operations in the same order whichever loop computes it, so results do not
// depend on the plane's size, on which path runs, or on the compiler.
// REQUIRES: scratch holds DepthwiseScratchFloats(g) floats.
void DepthwisePlaneSum(const float* src, const float* taps, const DepthwisePlane& g, float* scratch, float* dst);

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_DEPTHWISE_PLANE_H_
