// GridSample (opsets 16, 20) on 4-D inputs: samples X [N, C, H, W] at the
// normalized (x, y) locations of Grid [N, Ho, Wo, 2], as ONNX Runtime's CPU
// kernel computes it in float (modes nearest / bilinear (linear) / bicubic
// (cubic), padding zeros / border / reflection, align_corners).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Padding { kZeros, kBorder, kReflection };

// Beyond this magnitude a location is far outside any image; clamping it
// keeps the float-to-integer conversions defined without changing a result.
constexpr float kFarAway = 1e9f;

// Maps a normalized coordinate in [-1, 1] to pixel units.
float Denormalize(float n, int64_t length, bool align_corners) {
  return align_corners ? (n + 1) / 2.f * static_cast<float>(length - 1)
                       : ((n + 1) * static_cast<float>(length) - 1) / 2.f;
}

// Reflects x by the nearer border until it lies in [lo, hi].
float Reflect(float x, float lo, float hi) {
  const float range = hi - lo;
  if (!(range > 0)) return lo;
  if (x < lo) {
    const float dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const float r = dx - static_cast<float>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const float dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const float r = dx - static_cast<float>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

// Keys' cubic convolution coefficients (A = -0.75) for offset t in [0, 1).
void CubicCoeffs(float t, float c[4]) {
  constexpr float kA = -0.75f;
  t = std::fabs(t);
  c[0] = ((kA * (t + 1) - 5 * kA) * (t + 1) + 8 * kA) * (t + 1) - 4 * kA;
  c[1] = ((kA + 2) * t - (kA + 3)) * t * t + 1;
  c[2] = ((kA + 2) * (1 - t) - (kA + 3)) * (1 - t) * (1 - t) + 1;
  c[3] = ((kA * (2 - t) - 5 * kA) * (2 - t) + 8 * kA) * (2 - t) - 4 * kA;
}

struct Plane {
  const float* data;
  int64_t h, w;
  Padding padding;
  float bounds[4];  // x_min, y_min, x_max, y_max (for reflection)

  // The pixel at (r, c) under the padding mode.
  float At(int64_t r, int64_t c) const {
    if (padding == Padding::kZeros) {
      return (r >= 0 && r < h && c >= 0 && c < w) ? data[r * w + c] : 0.f;
    }
    if (padding == Padding::kReflection) {
      c = static_cast<int64_t>(Reflect(static_cast<float>(c), bounds[0], bounds[2]));
      r = static_cast<int64_t>(Reflect(static_cast<float>(r), bounds[1], bounds[3]));
    }
    c = std::clamp<int64_t>(c, 0, w - 1);
    r = std::clamp<int64_t>(r, 0, h - 1);
    return data[r * w + c];
  }
};

float Sample(const Plane& p, Mode mode, bool align_corners, float nx, float ny) {
  if (std::isnan(nx) || std::isnan(ny)) return std::numeric_limits<float>::quiet_NaN();
  float x = std::clamp(Denormalize(nx, p.w, align_corners), -kFarAway, kFarAway);
  float y = std::clamp(Denormalize(ny, p.h, align_corners), -kFarAway, kFarAway);
  if (mode == Mode::kNearest) {
    x = std::nearbyint(x);
    y = std::nearbyint(y);
  }
  if (x < p.bounds[0] || x > p.bounds[2] || y < p.bounds[1] || y > p.bounds[3]) {
    if (p.padding == Padding::kBorder) {
      x = std::clamp(x, 0.f, static_cast<float>(p.w - 1));
      y = std::clamp(y, 0.f, static_cast<float>(p.h - 1));
    } else if (p.padding == Padding::kReflection) {
      x = Reflect(x, p.bounds[0], p.bounds[2]);
      y = Reflect(y, p.bounds[1], p.bounds[3]);
    }
  }
  if (mode == Mode::kNearest) {
    return p.At(static_cast<int64_t>(y), static_cast<int64_t>(x));
  }
  if (mode == Mode::kLinear) {
    const int64_t x1 = static_cast<int64_t>(std::floor(x)), y1 = static_cast<int64_t>(std::floor(y));
    const int64_t x2 = x1 + 1, y2 = y1 + 1;
    const float dx2 = static_cast<float>(x2) - x, dx1 = x - static_cast<float>(x1);
    const float dy2 = static_cast<float>(y2) - y, dy1 = y - static_cast<float>(y1);
    return dy2 * (dx2 * p.At(y1, x1) + dx1 * p.At(y1, x2)) +
           dy1 * (dx2 * p.At(y2, x1) + dx1 * p.At(y2, x2));
  }
  const int64_t x0 = static_cast<int64_t>(std::floor(x)) - 1;
  const int64_t y0 = static_cast<int64_t>(std::floor(y)) - 1;
  float cx[4], cy[4], rows[4];
  CubicCoeffs(x - static_cast<float>(x0) - 1, cx);
  CubicCoeffs(y - static_cast<float>(y0) - 1, cy);
  for (int64_t i = 0; i < 4; ++i) {
    rows[i] = cx[0] * p.At(y0 + i, x0) + cx[1] * p.At(y0 + i, x0 + 1) +
              cx[2] * p.At(y0 + i, x0 + 2) + cx[3] * p.At(y0 + i, x0 + 3);
  }
  return cy[0] * rows[0] + cy[1] * rows[1] + cy[2] * rows[2] + cy[3] * rows[3];
}

Status GridSample(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  if (x.dtype() != kFloat || grid.dtype() != kFloat) {
    return ctx.Unsupported("X and grid must be float, got " + DataTypeName(x.dtype()) + " and " +
                           DataTypeName(grid.dtype()));
  }
  if (x.rank() != 4) {
    return ctx.Unsupported("only 4-D X [N, C, H, W] is supported, got " + ShapeToString(x.shape()));
  }
  if (grid.rank() != 4 || grid.dim(0) != x.dim(0) || grid.dim(3) != 2) {
    return ctx.Error("grid must be [N, Ho, Wo, 2] with N = " + std::to_string(x.dim(0)) +
                     ", got " + ShapeToString(grid.shape()));
  }
  const std::string mode_name = ctx.String("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
  Mode mode;
  if (mode_name == "nearest") mode = Mode::kNearest;
  else if (mode_name == "bilinear" || mode_name == "linear") mode = Mode::kLinear;
  else if (mode_name == "bicubic" || mode_name == "cubic") mode = Mode::kCubic;
  else return ctx.Error("mode must be nearest, (bi)linear or (bi)cubic, got '" + mode_name + "'");
  const std::string padding_name = ctx.String("padding_mode", "zeros");
  Padding padding;
  if (padding_name == "zeros") padding = Padding::kZeros;
  else if (padding_name == "border") padding = Padding::kBorder;
  else if (padding_name == "reflection") padding = Padding::kReflection;
  else return ctx.Error("padding_mode must be zeros, border or reflection, got '" + padding_name + "'");
  const int64_t align = ctx.Int("align_corners", 0);
  if (align != 0 && align != 1) {
    return ctx.Error("align_corners must be 0 or 1, got " + std::to_string(align));
  }
  const int64_t n = x.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t ho = grid.dim(1), wo = grid.dim(2);
  if ((h == 0 || w == 0) && padding != Padding::kZeros && ho * wo > 0 && channels > 0) {
    return ctx.Error("cannot pad an empty image with " + padding_name);
  }
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, {n, channels, ho, wo});
  if (!out.ok()) return out.status();
  const float lo = align == 1 ? 0.f : -0.5f;
  const float wmax = align == 1 ? static_cast<float>(w) - 1.f : static_cast<float>(w) - 0.5f;
  const float hmax = align == 1 ? static_cast<float>(h) - 1.f : static_cast<float>(h) - 0.5f;
  float* py = out->data<float>();
  for (int64_t b = 0; b < n; ++b) {
    const float* g = grid.data<float>() + b * ho * wo * 2;
    for (int64_t c = 0; c < channels; ++c) {
      const Plane plane{x.data<float>() + (b * channels + c) * h * w, h, w, padding,
                        {lo, lo, wmax, hmax}};
      float* dst = py + (b * channels + c) * ho * wo;
      for (int64_t i = 0; i < ho * wo; ++i) {
        dst[i] = Sample(plane, mode, align == 1, g[2 * i], g[2 * i + 1]);
      }
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& GridSampleKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"GridSample", "", 16, 0, GridSample},
  };
  return kKernels;
}

}  // namespace pq::exec
