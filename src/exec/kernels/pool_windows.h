// Window walkers shared by pq's pooling kernels (pooling.cc): every window
// of one [spatial...] plane in output order, and every in-bounds tap of one
// window in row-major kernel order.
#ifndef PQ_EXEC_KERNELS_POOL_WINDOWS_H_
#define PQ_EXEC_KERNELS_POOL_WINDOWS_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "exec/kernels/conv_geometry.h"

namespace pq::exec {

// Visits every window of one [spatial...] plane in output order;
// `fn(out_index, starts, ends)` receives each window's first and one-past-last
// padded coordinates. O(rank) per window: the output index advances like an
// odometer instead of being recomputed by division.
template <typename Fn>
inline void ForEachWindow(const WindowGeometry& g, Fn fn) {
  const size_t rank = g.output.size();
  int64_t total = 1;
  for (int64_t d : g.output) total *= d;
  if (total == 0) return;
  std::vector<int64_t> index(rank, 0), starts(rank), ends(rank);
  for (size_t d = 0; d < rank; ++d) {
    starts[d] = -g.pad_begin[d];
    ends[d] = starts[d] + g.dilations[d] * (g.kernel[d] - 1) + 1;
  }
  for (int64_t o = 0; o < total; ++o) {
    fn(o, starts, ends);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < g.output[d]) {
        starts[d] += g.strides[d];
        ends[d] += g.strides[d];
        break;
      }
      index[d] = 0;
      starts[d] = -g.pad_begin[d];
      ends[d] = starts[d] + g.dilations[d] * (g.kernel[d] - 1) + 1;
    }
  }
}

// Scratch for ForEachTap, allocated once per plane rather than per window.
struct TapWalk {
  explicit TapWalk(const WindowGeometry& g)
      : lo(g.kernel.size()), hi(g.kernel.size()), k(g.kernel.size()),
        in_stride(g.kernel.size(), 1) {
    for (size_t d = g.kernel.size(); d-- > 1;) in_stride[d - 1] = in_stride[d] * g.input[d];
  }
  std::vector<int64_t> lo, hi, k;  // in-bounds kernel index range, current index
  std::vector<int64_t> in_stride;  // elements per step along each input axis
};

// Visits the in-bounds taps of the window starting at `starts`, in row-major
// kernel order (the order the results' rounding depends on): fn(flat input
// index). Taps outside the input are skipped by clipping each axis's kernel
// index range first, so the cost is O(in-bounds taps + rank * rows).
template <typename Fn>
inline void ForEachTap(const WindowGeometry& g, const std::vector<int64_t>& starts, TapWalk* w, Fn fn) {
  const size_t rank = g.kernel.size();
  for (size_t d = 0; d < rank; ++d) {
    const int64_t dil = g.dilations[d];
    // First k with starts + k * dil >= 0; first k with starts + k * dil >= input.
    const int64_t lo = starts[d] >= 0 ? 0 : (-starts[d] + dil - 1) / dil;
    const int64_t hi = starts[d] >= g.input[d] ? 0 : (g.input[d] - starts[d] + dil - 1) / dil;
    w->lo[d] = lo;
    w->hi[d] = std::min(hi, g.kernel[d]);
    if (w->lo[d] >= w->hi[d]) return;
    w->k[d] = lo;
  }
  const size_t last = rank - 1;
  const int64_t last_dil = g.dilations[last];
  while (true) {
    int64_t row = starts[last];
    for (size_t d = 0; d < last; ++d) row += (starts[d] + w->k[d] * g.dilations[d]) * w->in_stride[d];
    for (int64_t k = w->lo[last]; k < w->hi[last]; ++k) fn(row + k * last_dil);
    size_t d = last;
    while (d-- > 0) {
      if (++w->k[d] < w->hi[d]) break;
      w->k[d] = w->lo[d];
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_POOL_WINDOWS_H_
