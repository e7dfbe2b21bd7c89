// Conv kernel of pq's executor (float, any number of spatial dims, any group).
//
// A convolution with more than one input channel per group lowers to GEMM:
// the output pixels are cut into fixed tiles, and each (image, group, tile)
// task copies its receptive fields into a [patch, tile] buffer (im2col; a 1x1
// stride-1 unpadded conv reads X in place) and multiplies the group's weights
// into its slice of Y. 1-D convs are run as 2-D convs of height 1; 3-D and
// higher use the same tiles with an N-D im2col. 2-D depthwise convs (one input
// channel per group, several groups) run a direct kernel instead. Bias and a fused Relu are applied to each tile while it is
// in cache.
//
// Determinism: the tiling depends only on the problem's shape, and every task
// does its own single-threaded GEMM, so each output element is computed by the
// same operations in the same order whatever the thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/conv_geometry.h"
#include "exec/kernels/depthwise_plane.h"
#include "exec/kernels/sgemm.h"

namespace pq::exec {
namespace {

// Convs with fewer multiply-adds than this run on one thread: forking and
// joining costs more than it saves.
constexpr int64_t kMinParallelMacs = 1 << 20;
// Convs big enough for parallel work are cut into at least this many tasks, so
// that one image's conv keeps two threads busy. Like the tile size, it follows
// from the shape alone. (More tasks make each GEMM narrower: 4 tasks cost a
// 32->64 channel 14x14 conv 12% at 1 thread.)
constexpr int64_t kMinParallelTasks = 2;
// Target size of one task's im2col buffer, in floats (1 MiB: it and the tile
// of Y stay in this machine's 2 MiB L2 cache; oneDNN's sgemm runs a
// 64x576 weight 15% faster over 455 pixels than over the 113 of a 256 KiB
// buffer, tools/bench/gemm_libraries.cc).
constexpr int64_t kTileFloats = 1 << 18;

// A Conv node's problem: 1-D convs widened to 2-D (height 1), 2-D and N-D
// (N >= 3) as they are; g's vectors have one entry per spatial axis.
struct ConvProblem {
  WindowGeometry g;
  int64_t batch, channels, out_channels, group;
  int64_t cg, mg;  // input and output channels per group
  int64_t patch;   // cg * product of the kernel sizes
  int64_t pixels, in_pixels;  // products of the output and input spatial sizes
  bool pointwise;  // 1x..x1, stride 1, no padding: X is its own im2col
};

// The window geometry of X's spatial dims, with 1-D viewed as 2-D of height
// 1. REQUIRES: x.rank() >= 3 and kernel.size() == x.rank() - 2.
Status ConvGeometry(const KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& kernel,
                    WindowGeometry* g) {
  if (x.rank() != 3) {
    const std::vector<int64_t> spatial(x.shape().begin() + 2, x.shape().end());
    return ComputeWindowGeometry(ctx, spatial, kernel, false, g);
  }
  PQ_RETURN_IF_ERROR(ComputeWindowGeometry(ctx, {x.dim(2)}, {kernel.back()}, false, g));
  g->kernel.insert(g->kernel.begin(), 1);
  g->strides.insert(g->strides.begin(), 1);
  g->dilations.insert(g->dilations.begin(), 1);
  g->pad_begin.insert(g->pad_begin.begin(), 0);
  g->pad_end.insert(g->pad_end.begin(), 0);
  g->input.insert(g->input.begin(), 1);
  g->output.insert(g->output.begin(), 1);
  return Status::OK();
}

// Checks X, W (and B) of a Conv node and fills `p`.
Status ReadProblem(const KernelContext& ctx, ConvProblem* p) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (x.dtype() != kFloat || w.dtype() != kFloat || (ctx.has_input(2) && ctx.input(2).dtype() != kFloat)) {
    return ctx.Unsupported("non-float Conv");
  }
  // N x C x spatial: everything below indexes dims 0 and 1 and at least one
  // spatial dim.
  if (x.rank() < 3) {
    return ctx.Error("X " + ShapeToString(x.shape()) + " has rank " + std::to_string(x.rank()) +
                     "; Conv takes N x C x spatial dims (rank 3 or more)");
  }
  if (w.rank() != x.rank()) {
    return ctx.Error("W " + ShapeToString(w.shape()) + " and X " + ShapeToString(x.shape()) +
                     " have different ranks");
  }
  p->group = ctx.Int("group", 1);
  p->batch = x.dim(0);
  p->channels = x.dim(1);
  p->out_channels = w.dim(0);
  if (p->group <= 0 || p->channels % p->group != 0 || p->out_channels % p->group != 0 ||
      w.dim(1) * p->group != p->channels) {
    return ctx.Error("X has " + std::to_string(p->channels) + " channels, W " +
                     ShapeToString(w.shape()) + " with group " + std::to_string(p->group) +
                     " does not fit");
  }
  const std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  const std::vector<int64_t> attr_kernel = ctx.Ints("kernel_shape");
  if (!attr_kernel.empty() && attr_kernel != kernel) {
    return ctx.Error("kernel_shape " + ShapeToString(attr_kernel) + " differs from W's " +
                     ShapeToString(kernel));
  }
  PQ_RETURN_IF_ERROR(ConvGeometry(ctx, x, kernel, &p->g));
  if (ctx.has_input(2) && ctx.input(2).size() != p->out_channels) {
    return ctx.Error("B has " + std::to_string(ctx.input(2).size()) + " values, expected " +
                     std::to_string(p->out_channels));
  }
  const WindowGeometry& g = p->g;
  p->cg = p->channels / p->group;
  p->mg = p->out_channels / p->group;
  p->patch = p->cg;
  p->pixels = 1;
  p->in_pixels = 1;
  p->pointwise = true;
  for (size_t d = 0; d < g.kernel.size(); ++d) {
    // Each factor is at most 2^31 (ComputeWindowGeometry's bound); a product
    // that leaves int64 (possible for an empty X or huge pads) is refused.
    if (__builtin_mul_overflow(p->patch, g.kernel[d], &p->patch) ||
        __builtin_mul_overflow(p->pixels, g.output[d], &p->pixels) ||
        __builtin_mul_overflow(p->in_pixels, g.input[d], &p->in_pixels)) {
      return ctx.Error("X " + ShapeToString(x.shape()) + " with W " + ShapeToString(w.shape()) +
                       " gives sizes beyond int64");
    }
    p->pointwise = p->pointwise && g.kernel[d] == 1 && g.strides[d] == 1 &&
                   g.pad_begin[d] == 0 && g.pad_end[d] == 0;
  }
  return Status::OK();
}

// Writes dst[x - x0] = line[sx0 + x * stride] for x in [x0, x1), zero where
// the position falls outside [0, width).
void GatherRow(const float* line, int64_t width, int64_t sx0, int64_t stride, int64_t x0,
               int64_t x1, float* dst) {
  if (stride == 1) {
    const int64_t lo = std::clamp<int64_t>(-sx0, x0, x1);
    const int64_t hi = std::clamp<int64_t>(width - sx0, lo, x1);
    std::fill(dst, dst + (lo - x0), 0.0f);
    std::memcpy(dst + (lo - x0), line + sx0 + lo, static_cast<size_t>(hi - lo) * sizeof(float));
    std::fill(dst + (hi - x0), dst + (x1 - x0), 0.0f);
    return;
  }
  for (int64_t x = x0; x < x1; ++x) {
    const int64_t sx = sx0 + x * stride;
    dst[x - x0] = (sx >= 0 && sx < width) ? line[sx] : 0.0f;
  }
}

// Copies the receptive fields of output pixels [p0, p0 + count) of one image
// group x[cg, H, W] into col[patch, count] (zeros where a window lies in the
// padding).
void Im2ColTile(const float* x, const ConvProblem& p, int64_t p0, int64_t count, float* col) {
  const WindowGeometry& g = p.g;
  const int64_t ih = g.input[0], iw = g.input[1];
  const int64_t kh = g.kernel[0], kw = g.kernel[1], ow = g.output[1];
  for (int64_t r = 0; r < p.patch; ++r) {
    const int64_t c = r / (kh * kw), i = (r / kw) % kh, j = r % kw;
    const float* plane = x + c * p.in_pixels;
    float* dst = col + r * count;
    for (int64_t q = p0; q < p0 + count;) {
      const int64_t y = q / ow, x0 = q % ow;
      const int64_t x1 = std::min(ow, x0 + (p0 + count - q));
      const int64_t sy = y * g.strides[0] - g.pad_begin[0] + i * g.dilations[0];
      float* out = dst + (q - p0);
      if (sy < 0 || sy >= ih) {
        std::fill(out, out + (x1 - x0), 0.0f);
      } else {
        GatherRow(plane + sy * iw, iw, j * g.dilations[1] - g.pad_begin[1], g.strides[1], x0,
                  x1, out);
      }
      q += x1 - x0;
    }
  }
}

// Im2ColTile for any number of spatial dims (used for 3 and more): row r of
// col is (channel, kernel offset per axis) in W's order; the output pixels are
// walked in runs along the last axis, each run gathered by GatherRow.
void Im2ColTileNd(const float* x, const ConvProblem& p, int64_t p0, int64_t count, float* col) {
  const WindowGeometry& g = p.g;
  const size_t rank = g.kernel.size(), last = rank - 1;
  int64_t taps = 1;
  for (int64_t k : g.kernel) taps *= k;
  const int64_t iw = g.input[last], ow = g.output[last];
  std::vector<int64_t> tap(rank), pixel(rank);
  for (int64_t r = 0; r < p.patch; ++r) {
    const float* plane = x + (r / taps) * p.in_pixels;
    for (int64_t rest = r % taps, d = static_cast<int64_t>(last); d >= 0; --d) {
      tap[d] = rest % g.kernel[d];
      rest /= g.kernel[d];
    }
    float* dst = col + r * count;
    for (int64_t q = p0; q < p0 + count;) {
      for (int64_t rest = q, d = static_cast<int64_t>(last); d >= 0; --d) {
        pixel[d] = rest % g.output[d];
        rest /= g.output[d];
      }
      const int64_t x0 = pixel[last], x1 = std::min(ow, x0 + (p0 + count - q));
      // Offset of the run's input line; -1 when it lies in the padding.
      int64_t line = 0;
      for (size_t d = 0; d < last && line >= 0; ++d) {
        const int64_t s = pixel[d] * g.strides[d] - g.pad_begin[d] + tap[d] * g.dilations[d];
        line = (s < 0 || s >= g.input[d]) ? -1 : line * g.input[d] + s;
      }
      float* out = dst + (q - p0);
      if (line < 0) {
        std::fill(out, out + (x1 - x0), 0.0f);
      } else {
        GatherRow(plane + line * iw, iw, tap[last] * g.dilations[last] - g.pad_begin[last],
                  g.strides[last], x0, x1, out);
      }
      q += x1 - x0;
    }
  }
}

// Adds bias[m] (when given) to row m of y[rows, count] (row stride
// `stride`), then clamps at 0 when `relu`.
void Epilogue(float* y, int64_t rows, int64_t count, int64_t stride, const float* bias,
              bool relu) {
  for (int64_t m = 0; m < rows; ++m) {
    float* row = y + m * stride;
    const float b = bias != nullptr ? bias[m] : 0.0f;
    if (bias != nullptr) {
      for (int64_t i = 0; i < count; ++i) row[i] += b;
    }
    if (relu) {
      for (int64_t i = 0; i < count; ++i) row[i] = row[i] < 0.0f ? 0.0f : row[i];
    }
  }
}

// A buffer of at least `floats` floats owned by the calling thread, kept
// between calls so that its pages stay mapped. Its contents are
// indeterminate; it is valid until the thread's next call.
float* ThreadScratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// Y = W * im2col(X) per (image, group, pixel tile); see the file comment.
void GemmConv(const ConvProblem& p, const float* x, const float* w, const float* bias,
              bool relu, int threads, float* y) {
  // Balanced tiles of about kTileFloats / patch pixels (at least 16), more of
  // them when a big conv would otherwise make fewer than kMinParallelTasks.
  const bool big = p.batch * p.out_channels * p.patch * p.pixels >= kMinParallelMacs;
  int64_t target = std::max<int64_t>(16, kTileFloats / std::max<int64_t>(1, p.patch));
  const int64_t images = p.batch * p.group;
  if (big && images * ((p.pixels + target - 1) / target) < kMinParallelTasks) {
    const int64_t want_tiles = (kMinParallelTasks + images - 1) / images;
    target = std::max<int64_t>(16, (p.pixels + want_tiles - 1) / want_tiles);
  }
  const int64_t tiles = (p.pixels + target - 1) / target;
  const int64_t tile = (p.pixels + tiles - 1) / tiles;
  const int64_t tasks = images * tiles;
  const bool parallel = threads > 1 && tasks > 1 && big;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    float* col = p.pointwise ? nullptr : ThreadScratch(static_cast<size_t>(p.patch * tile));
    // Dynamic: on a busy machine a thread that gets less CPU takes fewer
    // tasks. Which thread runs a task never changes its arithmetic.
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t t = task % tiles, gi = (task / tiles) % p.group, n = task / (tiles * p.group);
      const int64_t p0 = t * tile, count = std::min(tile, p.pixels - p0);
      const float* xg = x + (n * p.channels + gi * p.cg) * p.in_pixels;
      float* yt = y + (n * p.out_channels + gi * p.mg) * p.pixels + p0;
      const SgemmOperand wg{w + gi * p.mg * p.patch, p.patch};
      if (p.pointwise) {
        Sgemm(p.mg, count, p.cg, wg, {xg + p0, p.in_pixels}, yt, p.pixels);
      } else {
        if (p.g.kernel.size() == 2) {
          Im2ColTile(xg, p, p0, count, col);
        } else {
          Im2ColTileNd(xg, p, p0, count, col);
        }
        Sgemm(p.mg, count, p.patch, wg, {col, count}, yt, p.pixels);
      }
      Epilogue(yt, p.mg, count, p.pixels, bias != nullptr ? bias + gi * p.mg : nullptr, relu);
    }
  }
}

// One input channel per group: each output channel o reads input channel
// o / mg. Sums each output's taps in (row, column) order
// (DepthwisePlaneSum), then adds the bias.
void DepthwiseConv(const ConvProblem& p, const float* x, const float* w, const float* bias,
                   bool relu, int threads, float* y) {
  const WindowGeometry& g = p.g;
  const DepthwisePlane plane_geometry{g.input[0],     g.input[1],     g.output[0],    g.output[1],
                                      g.kernel[0],    g.kernel[1],    g.strides[0],   g.strides[1],
                                      g.dilations[0], g.dilations[1], g.pad_begin[0], g.pad_begin[1]};
  const int64_t planes = p.batch * p.out_channels, taps = g.kernel[0] * g.kernel[1];
  const bool parallel = threads > 1 && planes > 1 && planes * p.pixels * taps >= kMinParallelMacs;
#pragma omp parallel num_threads(threads) if (parallel)
  {
    float* scratch = ThreadScratch(DepthwiseScratchFloats(plane_geometry));
#pragma omp for schedule(dynamic, 4)
    for (int64_t plane = 0; plane < planes; ++plane) {
      const int64_t n = plane / p.out_channels, o = plane % p.out_channels;
      const float* src = x + (n * p.channels + o / p.mg) * p.in_pixels;
      float* dst = y + plane * p.pixels;
      DepthwisePlaneSum(src, w + o * taps, plane_geometry, scratch, dst);
      Epilogue(dst, 1, p.pixels, p.pixels, bias != nullptr ? bias + o : nullptr, relu);
    }
  }
}

Status Conv(KernelContext& ctx) {
  ConvProblem p;
  PQ_RETURN_IF_ERROR(ReadProblem(ctx, &p));
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> out_shape = {p.batch, p.out_channels};
  if (x.rank() == 3) {
    out_shape.push_back(p.g.output[1]);  // drop the height of 1
  } else {
    out_shape.insert(out_shape.end(), p.g.output.begin(), p.g.output.end());
  }
  // Every output element is written by one task.
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, out_shape);
  if (!y.ok()) return y.status();
  if (y->size() > 0) {
    const float* w = ctx.input(1).data<float>();
    const float* bias = ctx.has_input(2) ? ctx.input(2).data<float>() : nullptr;
    // Depthwise (one input channel per group, several groups) runs direct;
    // a single-channel input with one group shares one im2col across all
    // output channels, so GEMM is faster there. N-D depthwise convs run
    // through GEMM too (one input channel per group makes the GEMM a GEMV).
    if (p.g.kernel.size() == 2 && p.cg == 1 && p.group > 1 && p.patch > 1) {
      DepthwiseConv(p, x.data<float>(), w, bias, ctx.fused_relu(), ctx.threads(), y->data<float>());
    } else {
      GemmConv(p, x.data<float>(), w, bias, ctx.fused_relu(), ctx.threads(), y->data<float>());
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& ConvKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Conv", "", 1, 0, Conv},
  };
  return kKernels;
}

}  // namespace pq::exec
