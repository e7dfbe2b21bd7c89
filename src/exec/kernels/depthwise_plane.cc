#include "exec/kernels/depthwise_plane.h"

#include <algorithm>
#include <cmath>

namespace pq::exec {
namespace {

// The rows and columns of input every output reads, padding included.
int64_t PaddedRows(const DepthwisePlane& g) { return (g.oh - 1) * g.stride_y + (g.kh - 1) * g.dilation_y + 1; }
int64_t PaddedColumns(const DepthwisePlane& g) {
  return (g.ow - 1) * g.stride_x + (g.kw - 1) * g.dilation_x + 1;
}

// Copies src into `padded` (PaddedRows x PaddedColumns), zeros where the
// window reaches outside the input.
void PadPlane(const float* src, const DepthwisePlane& g, float* padded) {
  const int64_t rows = PaddedRows(g), columns = PaddedColumns(g);
  for (int64_t r = 0; r < rows; ++r) {
    float* line = padded + r * columns;
    const int64_t sy = r - g.pad_top;
    if (sy < 0 || sy >= g.ih) {
      std::fill(line, line + columns, 0.0f);
      continue;
    }
    // Columns c with source column c - pad_left in [0, iw).
    const int64_t lo = std::clamp<int64_t>(g.pad_left, 0, columns);
    const int64_t hi = std::clamp<int64_t>(g.iw + g.pad_left, lo, columns);
    std::fill(line, line + lo, 0.0f);
    std::copy(src + sy * g.iw + (lo - g.pad_left), src + sy * g.iw + (hi - g.pad_left), line + lo);
    std::fill(line + hi, line + columns, 0.0f);
  }
}

// The sum over a padded plane for kernels of KH x KW and column stride SX
// (0: g's, at run time). Each output accumulates in its own register, eight
// neighbouring outputs side by side so that the compiler can vectorise them.
template <int KH, int KW, int SX>
void PaddedSum(const float* padded, const float* taps, const DepthwisePlane& g, float* dst) {
  constexpr int64_t kLanes = 8;
  const int64_t kh = KH > 0 ? KH : g.kh, kw = KW > 0 ? KW : g.kw, sx = SX > 0 ? SX : g.stride_x;
  const int64_t columns = PaddedColumns(g), dx = g.dilation_x;
  const int64_t blocked = g.ow / kLanes * kLanes;
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const float* top = padded + oy * g.stride_y * columns;
    float* row = dst + oy * g.ow;
    for (int64_t ox = 0; ox < blocked; ox += kLanes) {
      float acc[kLanes] = {};
      for (int64_t i = 0; i < kh; ++i) {
        const float* line = top + i * g.dilation_y * columns + ox * sx;
        for (int64_t j = 0; j < kw; ++j) {
          const float k = taps[i * kw + j];
          for (int64_t t = 0; t < kLanes; ++t) acc[t] += k * line[t * sx + j * dx];
        }
      }
      for (int64_t t = 0; t < kLanes; ++t) row[ox + t] = acc[t];
    }
    for (int64_t ox = blocked; ox < g.ow; ++ox) {
      float acc = 0.0f;
      for (int64_t i = 0; i < kh; ++i) {
        const float* line = top + i * g.dilation_y * columns + ox * sx;
        for (int64_t j = 0; j < kw; ++j) acc += taps[i * kw + j] * line[j * dx];
      }
      row[ox] = acc;
    }
  }
}

// The sum without padding, for taps that are not all finite: a skipped tap
// must not become 0 * inf = NaN.
void ClippedSum(const float* src, const float* taps, const DepthwisePlane& g, float* dst) {
  const int64_t sx = g.stride_x;
  std::fill(dst, dst + g.oh * g.ow, 0.0f);
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    float* row = dst + oy * g.ow;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t sy = oy * g.stride_y - g.pad_top + i * g.dilation_y;
      if (sy < 0 || sy >= g.ih) continue;
      const float* line = src + sy * g.iw;
      for (int64_t j = 0; j < g.kw; ++j) {
        const float k = taps[i * g.kw + j];
        const int64_t sx0 = j * g.dilation_x - g.pad_left;
        // Output columns whose source column sx0 + ox * sx lies in [0, iw).
        const int64_t lo = sx0 >= 0 ? 0 : (-sx0 + sx - 1) / sx;
        const int64_t hi = std::min(g.ow, sx0 >= g.iw ? 0 : (g.iw - 1 - sx0) / sx + 1);
        for (int64_t ox = lo; ox < hi; ++ox) row[ox] += k * line[sx0 + ox * sx];
      }
    }
  }
}

}  // namespace

size_t DepthwiseScratchFloats(const DepthwisePlane& g) {
  return static_cast<size_t>(PaddedRows(g) * PaddedColumns(g));
}

void DepthwisePlaneSum(const float* src, const float* taps, const DepthwisePlane& g, float* scratch, float* dst) {
  if (!std::all_of(taps, taps + g.kh * g.kw, [](float t) { return std::isfinite(t); })) {
    ClippedSum(src, taps, g, dst);
    return;
  }
  PadPlane(src, g, scratch);
  const bool dense = g.dilation_x == 1 && (g.stride_x == 1 || g.stride_x == 2);
  const bool stride1 = g.stride_x == 1;
  if (dense && g.kh == 3 && g.kw == 3) {
    stride1 ? PaddedSum<3, 3, 1>(scratch, taps, g, dst) : PaddedSum<3, 3, 2>(scratch, taps, g, dst);
  } else if (dense && g.kh == 5 && g.kw == 5) {
    stride1 ? PaddedSum<5, 5, 1>(scratch, taps, g, dst) : PaddedSum<5, 5, 2>(scratch, taps, g, dst);
  } else {
    PaddedSum<0, 0, 0>(scratch, taps, g, dst);
  }
}

}  // namespace pq::exec
