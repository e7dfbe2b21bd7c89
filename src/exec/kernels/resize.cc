// The Resize (opset 10+) and Upsample (opset 7-9) kernels.
//
// Every axis is resampled independently: for each output coordinate an axis
// has a list of taps (input index, weight), and an output element is the sum
// over the product of its axes' taps. Modes nearest (one tap), linear (two)
// and cubic (four, Keys kernel with cubic_coeff_a) work on any rank.
// Upsample and Resize-10 use asymmetric coordinates and, for nearest, ONNX
// Runtime's rule for those opsets (floor when upsampling, ceil when
// downsampling).

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace movement {
namespace {

struct ResizeSpec {
  std::string mode = "nearest";             // nearest, linear, cubic
  std::string coordinates = "half_pixel";   // coordinate_transformation_mode
  std::string nearest_mode = "round_prefer_floor";  // or "legacy" before opset 11
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation_value = 0.0;
  std::vector<double> scales;          // per dim
  std::vector<int64_t> out_shape;      // per dim
  std::vector<double> roi_start, roi_end;  // per dim, tf_crop_and_resize only
};

// The taps of one axis: output coordinate o reads index[k], weight[k] for k
// in [first[o], first[o + 1]); no taps means the extrapolation value.
struct AxisTaps {
  std::vector<size_t> first;
  std::vector<int64_t> index;
  std::vector<double> weight;
};

// The input coordinate output coordinate `x` of axis `d` maps to.
double SourceCoordinate(const ResizeSpec& spec, size_t d, int64_t x, int64_t in) {
  const double scale = spec.scales[d];
  const double out = static_cast<double>(spec.out_shape[d]);
  const std::string& m = spec.coordinates;
  const double xr = static_cast<double>(x);
  if (m == "asymmetric") return xr / scale;
  if (m == "align_corners") {
    // The resized length is scale * in (not the rounded output dim), as
    // ONNX's reference and test data have it.
    return out <= 1 ? 0.0 : xr * (in - 1) / (scale * in - 1);
  }
  if (m == "pytorch_half_pixel") return out > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
  if (m == "tf_half_pixel_for_nn") return (xr + 0.5) / scale;
  if (m == "tf_crop_and_resize") {
    const double s = spec.roi_start[d], e = spec.roi_end[d];
    return out > 1 ? s * (in - 1) + xr * (e - s) * (in - 1) / (out - 1) : 0.5 * (s + e) * (in - 1);
  }
  if (m == "half_pixel_symmetric") {
    const double adjustment = out / (scale * in);
    const double offset = in / 2.0 * (1 - adjustment);
    return offset + (xr + 0.5) / scale - 0.5;
  }
  return (xr + 0.5) / scale - 0.5;  // half_pixel
}

// Rounds a source coordinate to an index as `nearest_mode` says.
int64_t NearestIndex(const std::string& mode, double x, double scale) {
  const double fl = std::floor(x);
  if (mode == "floor") return static_cast<int64_t>(fl);
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  if (mode == "legacy") return static_cast<int64_t>(scale < 1 ? std::ceil(x) : fl);
  if (x - fl == 0.5) return static_cast<int64_t>(mode == "round_prefer_ceil" ? fl + 1 : fl);
  return static_cast<int64_t>(std::round(x));
}

// The four Keys cubic weights of taps floor(x)-1 .. floor(x)+2 at fraction t.
void CubicWeights(double t, double a, double w[4]) {
  auto near = [a](double s) { return ((a + 2) * s - (a + 3)) * s * s + 1; };           // |s| <= 1
  auto far = [a](double s) { return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a; };      // 1 < |s| < 2
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

AxisTaps ComputeTaps(const ResizeSpec& spec, size_t d, int64_t in) {
  AxisTaps taps;
  const int64_t out = spec.out_shape[d];
  auto add = [&](int64_t i, double w) {
    taps.index.push_back(std::clamp<int64_t>(i, 0, in - 1));
    taps.weight.push_back(w);
  };
  for (int64_t o = 0; o < out; ++o) {
    taps.first.push_back(taps.index.size());
    const double x = SourceCoordinate(spec, d, o, in);
    if (spec.coordinates == "tf_crop_and_resize" && (x < 0 || x > in - 1)) continue;
    if (spec.mode == "nearest") {
      add(NearestIndex(spec.nearest_mode, x, spec.scales[d]), 1.0);
    } else if (spec.mode == "linear") {
      const double xc = std::clamp(x, 0.0, static_cast<double>(in - 1));
      const int64_t i0 = static_cast<int64_t>(std::floor(xc));
      const double t = xc - static_cast<double>(i0);
      add(i0, 1 - t);
      if (t > 0) add(i0 + 1, t);
    } else {  // cubic
      const int64_t i0 = static_cast<int64_t>(std::floor(x));
      double w[4];
      CubicWeights(x - static_cast<double>(i0), spec.cubic_a, w);
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const int64_t i = i0 - 1 + k;
        if (spec.exclude_outside && (i < 0 || i >= in)) w[k] = 0;
        sum += w[k];
      }
      for (int k = 0; k < 4; ++k) {
        if (w[k] != 0) add(i0 - 1 + k, spec.exclude_outside ? w[k] / sum : w[k]);
      }
    }
  }
  taps.first.push_back(taps.index.size());
  return taps;
}

// Resamples `in` into `out` as `spec` says. REQUIRES: `out` allocated with
// spec.out_shape and in's dtype, in.rank() > 0, no input dim is 0.
void ResizeInto(const ResizeSpec& spec, const Tensor& in, Tensor* out) {
  const size_t rank = spec.out_shape.size();
  const std::vector<int64_t> strides = DenseStrides(in.shape());
  std::vector<AxisTaps> axes;
  for (size_t d = 0; d < rank; ++d) {
    axes.push_back(ComputeTaps(spec, d, in.shape()[d]));
    for (int64_t& i : axes.back().index) i *= strides[d];  // store offsets
  }
  ForNumericType(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = in.data<T>();
    T* dst = out->template data<T>();
    std::vector<int64_t> counter(rank, 0);
    // Sum over the taps of dims d.. of the element at `offset` so far.
    auto accumulate = [&](auto&& self, size_t d, int64_t offset, double weight) -> double {
      if (d == rank) return weight * static_cast<double>(src[offset]);
      const AxisTaps& a = axes[d];
      const size_t o = static_cast<size_t>(counter[d]);
      double sum = 0;
      for (size_t k = a.first[o]; k < a.first[o + 1]; ++k) {
        sum += self(self, d + 1, offset + a.index[k], weight * a.weight[k]);
      }
      return sum;
    };
    const bool nearest = spec.mode == "nearest";
    for (int64_t i = 0; i < out->size(); ++i) {
      bool extrapolate = false;
      int64_t offset = 0;
      for (size_t d = 0; d < rank; ++d) {
        const AxisTaps& a = axes[d];
        const size_t o = static_cast<size_t>(counter[d]);
        extrapolate = extrapolate || a.first[o] == a.first[o + 1];
        if (nearest && !extrapolate) offset += a.index[a.first[o]];
      }
      if (extrapolate) {
        dst[i] = CastFromDouble<T>(spec.extrapolation_value);
      } else if (nearest) {
        dst[i] = src[offset];
      } else {
        dst[i] = CastFromDouble<T>(accumulate(accumulate, 0, 0, 1.0));
      }
      for (size_t d = rank; d-- > 0;) {
        if (++counter[d] < spec.out_shape[d]) break;
        counter[d] = 0;
      }
    }
  });
}

// Reads a float tensor input as doubles ({} when absent or empty).
Result<std::vector<double>> FloatInput(const KernelContext& ctx, int i) {
  std::vector<double> v;
  if (!ctx.has_input(i)) return v;
  const Tensor& t = ctx.input(i);
  if (t.dtype() != kFloat) return ctx.Error("input " + std::to_string(i) + " must be float");
  for (int64_t k = 0; k < t.size(); ++k) v.push_back(t.data<float>()[k]);
  return v;
}

// Checks the spec, sets output dims from scales, allocates and resamples.
Status RunResize(KernelContext& ctx, ResizeSpec spec, bool from_sizes) {
  const Tensor& in = ctx.input(0);
  if (spec.mode != "nearest" && spec.mode != "linear" && spec.mode != "cubic") {
    return ctx.Error("mode must be nearest, linear or cubic, got '" + spec.mode + "'");
  }
  for (size_t d = 0; d < spec.scales.size(); ++d) {
    const double out_dim = std::floor(spec.scales[d] * static_cast<double>(in.shape()[d]));
    if (!(spec.scales[d] > 0) || !(out_dim < 9.0e18) || spec.out_shape[d] < 0) {
      return ctx.Error("scale " + std::to_string(spec.scales[d]) + " of dim " + std::to_string(d) +
                       " must be positive and finite");
    }
    if (!from_sizes) spec.out_shape[d] = static_cast<int64_t>(out_dim);
    if (in.shape()[d] == 0 && spec.out_shape[d] > 0) {
      return ctx.Error("cannot resize dim " + std::to_string(d) + " of size 0");
    }
  }
  Result<Tensor> out = ctx.Allocate(in.dtype(), spec.out_shape);
  if (!out.ok()) return out.status();
  if (!ForNumericType(in.dtype(), [](auto) {})) {
    return ctx.Unsupported(spec.mode + " resize of " + DataTypeName(in.dtype()));
  }
  if (out->size() > 0) ResizeInto(spec, in, &out.value());
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Resize-10: inputs X, scales; Resize-11+: X, roi, scales, sizes (opset 18
// adds the axes and keep_aspect_ratio_policy attributes).
Status Resize(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  const int64_t rank = in.rank();
  ResizeSpec spec;
  spec.mode = ctx.String("mode", "nearest");
  spec.scales.assign(static_cast<size_t>(rank), 1.0);
  spec.out_shape = in.shape();
  if (ctx.opset() < 11) {
    spec.coordinates = "asymmetric";
    spec.nearest_mode = "legacy";
    Result<std::vector<double>> scales = FloatInput(ctx, 1);
    if (!scales.ok()) return scales.status();
    if (static_cast<int64_t>(scales->size()) != rank) {
      return ctx.Error("scales must hold " + std::to_string(rank) + " values");
    }
    spec.scales = std::move(scales).value();
    return RunResize(ctx, std::move(spec), false);
  }
  spec.coordinates = ctx.String("coordinate_transformation_mode", "half_pixel");
  spec.nearest_mode = ctx.String("nearest_mode", "round_prefer_floor");
  spec.cubic_a = ctx.Float("cubic_coeff_a", -0.75f);
  spec.exclude_outside = ctx.Int("exclude_outside", 0) != 0;
  spec.extrapolation_value = ctx.Float("extrapolation_value", 0.0f);
  std::vector<int64_t> axes = ctx.opset() >= 18 ? ctx.Ints("axes") : std::vector<int64_t>{};
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (int64_t& a : axes) {
    if (!NormalizeAxis(a, rank, &a)) return ctx.Error("axes must lie in [-rank, rank)");
  }
  Result<std::vector<double>> roi = FloatInput(ctx, 1);
  Result<std::vector<double>> scales = FloatInput(ctx, 2);
  if (!roi.ok()) return roi.status();
  if (!scales.ok()) return scales.status();
  std::vector<int64_t> sizes;
  if (ctx.has_input(3) && ctx.input(3).size() > 0) {
    Result<std::vector<int64_t>> s = ctx.InputAsInts(3);
    if (!s.ok()) return s.status();
    sizes = std::move(s).value();
  }
  if (sizes.empty() == scales->empty()) {
    return ctx.Error("exactly one of scales and sizes must be given");
  }
  const std::vector<double>& given = scales->empty() ? std::vector<double>(sizes.begin(), sizes.end())
                                                     : scales.value();
  if (given.size() != axes.size()) {
    return ctx.Error(std::string(sizes.empty() ? "scales" : "sizes") + " must hold " +
                     std::to_string(axes.size()) + " values, holds " + std::to_string(given.size()));
  }
  if (spec.coordinates == "tf_crop_and_resize") {
    if (roi->size() != 2 * axes.size()) {
      return ctx.Error("roi must hold " + std::to_string(2 * axes.size()) + " values");
    }
    spec.roi_start.assign(static_cast<size_t>(rank), 0.0);
    spec.roi_end.assign(static_cast<size_t>(rank), 1.0);
    for (size_t i = 0; i < axes.size(); ++i) {
      spec.roi_start[static_cast<size_t>(axes[i])] = roi.value()[i];
      spec.roi_end[static_cast<size_t>(axes[i])] = roi.value()[i + axes.size()];
    }
  }
  if (sizes.empty()) {
    for (size_t i = 0; i < axes.size(); ++i) spec.scales[static_cast<size_t>(axes[i])] = given[i];
  } else {
    const std::string policy = ctx.opset() >= 18 ? ctx.String("keep_aspect_ratio_policy", "stretch")
                                                 : "stretch";
    double common = policy == "not_larger" ? 1e300 : 0.0;
    for (size_t i = 0; i < axes.size(); ++i) {
      const double r = given[i] / static_cast<double>(in.dim(axes[i]));
      common = policy == "not_larger" ? std::min(common, r) : std::max(common, r);
    }
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t a = static_cast<size_t>(axes[i]);
      int64_t out = sizes[i];
      if (policy != "stretch") out = static_cast<int64_t>(std::floor(common * in.dim(axes[i]) + 0.5));
      spec.out_shape[a] = out;
      spec.scales[a] = static_cast<double>(out) / static_cast<double>(in.dim(axes[i]));
    }
  }
  if (ctx.opset() >= 18 && ctx.Int("antialias", 0) != 0 && spec.mode != "nearest") {
    for (double s : spec.scales) {
      if (s < 1) return ctx.Unsupported("antialiased downsampling");
    }
  }
  return RunResize(ctx, std::move(spec), !sizes.empty());
}

// Upsample-7 (scales attribute) and Upsample-9 (scales input): nearest or
// (bi)linear with asymmetric coordinates.
Status Upsample(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  const Tensor& in = ctx.input(0);
  ResizeSpec spec;
  spec.mode = ctx.String("mode", "nearest");
  if (spec.mode == "bilinear") spec.mode = "linear";
  if (spec.mode == "cubic") return ctx.Error("mode must be nearest or linear");
  spec.coordinates = "asymmetric";
  spec.nearest_mode = "legacy";
  spec.out_shape = in.shape();
  if (ctx.opset() < 9) {
    const std::vector<float> scales = ctx.Floats("scales");
    spec.scales.assign(scales.begin(), scales.end());
  } else {
    Result<std::vector<double>> scales = FloatInput(ctx, 1);
    if (!scales.ok()) return scales.status();
    spec.scales = std::move(scales).value();
  }
  if (static_cast<int64_t>(spec.scales.size()) != in.rank()) {
    return ctx.Error("scales must hold " + std::to_string(in.rank()) + " values, holds " +
                     std::to_string(spec.scales.size()));
  }
  return RunResize(ctx, std::move(spec), false);
}

}  // namespace
}  // namespace movement

const std::vector<KernelDef>& ResizeKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Resize", "", 10, 0, movement::Resize},
      {"Upsample", "", 7, 9, movement::Upsample},
  };
  return kKernels;
}

}  // namespace pq::exec
