// Detection kernels of pq's executor: NonMaxSuppression (opsets 10, 11)
// and RoiAlign (opsets 10, 16).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace {

// A box as its corners, min before max on each axis.
struct Box {
  float y0, x0, y1, x1;
};

Box ReadBox(const float* b, bool center_point) {
  if (center_point) {  // [x_center, y_center, width, height]
    return {b[1] - b[3] / 2, b[0] - b[2] / 2, b[1] + b[3] / 2, b[0] + b[2] / 2};
  }
  return {std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]), std::max(b[1], b[3])};
}

// True when `a` and `b` overlap by more than `threshold` (intersection over
// union); boxes of no area suppress nothing, as in ONNX Runtime.
bool Suppresses(const Box& a, const Box& b, float threshold) {
  const float area_a = (a.y1 - a.y0) * (a.x1 - a.x0);
  const float area_b = (b.y1 - b.y0) * (b.x1 - b.x0);
  if (area_a <= 0 || area_b <= 0) return false;
  const float ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  const float iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0);
  if (ih <= 0 || iw <= 0) return false;
  const float inter = ih * iw;
  return inter / (area_a + area_b - inter) > threshold;
}

// Reads optional scalar input `i` as float (kind "float") or int64.
Status OptionalScalar(const KernelContext& ctx, int i, double* out) {
  if (!ctx.has_input(i)) return Status::OK();
  const Tensor& t = ctx.input(i);
  if (t.size() != 1 || (t.dtype() != kFloat && t.dtype() != kInt64)) {
    return ctx.Error("input " + std::to_string(i) + " must hold one float or int64 value, got " +
                     DataTypeName(t.dtype()) + " " + ShapeToString(t.shape()));
  }
  *out = t.dtype() == kFloat ? t.data<float>()[0] : static_cast<double>(t.data<int64_t>()[0]);
  return Status::OK();
}

// NonMaxSuppression: boxes [B, S, 4] float, scores [B, C, S] float, and
// optional max_output_boxes_per_class (int64, default 0), iou_threshold
// (default 0) and score_threshold (default none); attribute
// center_point_box (0: [y1, x1, y2, x2] corners, 1: [xc, yc, w, h]).
// Per batch and class, boxes scoring above score_threshold are taken by
// descending score (ties: lower index first) unless one already taken
// overlaps them by more than iou_threshold. Output: int64 [n, 3] rows
// (batch, class, box).
Status NonMaxSuppression(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  const Tensor& boxes = ctx.input(0);
  const Tensor& scores = ctx.input(1);
  if (boxes.dtype() != kFloat || scores.dtype() != kFloat) {
    return ctx.Unsupported("boxes and scores must be float, got " + DataTypeName(boxes.dtype()) +
                           " and " + DataTypeName(scores.dtype()));
  }
  if (boxes.rank() != 3 || boxes.dim(2) != 4 || scores.rank() != 3 ||
      scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1)) {
    return ctx.Error("boxes must be [B, S, 4] and scores [B, C, S], got " +
                     ShapeToString(boxes.shape()) + " and " + ShapeToString(scores.shape()));
  }
  const int64_t center = ctx.Int("center_point_box", 0);
  if (center != 0 && center != 1) {
    return ctx.Error("center_point_box must be 0 or 1, got " + std::to_string(center));
  }
  double max_out = 0, iou = 0, score_threshold = 0;
  PQ_RETURN_IF_ERROR(OptionalScalar(ctx, 2, &max_out));
  PQ_RETURN_IF_ERROR(OptionalScalar(ctx, 3, &iou));
  PQ_RETURN_IF_ERROR(OptionalScalar(ctx, 4, &score_threshold));
  const bool has_score_threshold = ctx.has_input(4);
  const int64_t batches = boxes.dim(0), classes = scores.dim(1), spatial = boxes.dim(1);
  const int64_t limit = static_cast<int64_t>(std::min<double>(std::max(max_out, 0.0),
                                                               static_cast<double>(spatial)));
  std::vector<int64_t> selected;  // (batch, class, box) triples
  std::vector<Box> all(static_cast<size_t>(spatial));
  std::vector<int64_t> order;
  std::vector<int64_t> kept;
  for (int64_t b = 0; b < batches && limit > 0; ++b) {
    for (int64_t s = 0; s < spatial; ++s) {
      all[static_cast<size_t>(s)] = ReadBox(boxes.data<float>() + (b * spatial + s) * 4, center == 1);
    }
    for (int64_t c = 0; c < classes; ++c) {
      const float* sc = scores.data<float>() + (b * classes + c) * spatial;
      order.clear();
      for (int64_t s = 0; s < spatial; ++s) {
        if (std::isnan(sc[s])) continue;  // unordered: never taken
        if (!has_score_threshold || sc[s] > score_threshold) order.push_back(s);
      }
      std::stable_sort(order.begin(), order.end(),
                       [sc](int64_t l, int64_t r) { return sc[l] > sc[r]; });
      kept.clear();
      for (int64_t s : order) {
        if (static_cast<int64_t>(kept.size()) >= limit) break;
        bool keep = true;
        for (int64_t k : kept) {
          if (Suppresses(all[static_cast<size_t>(k)], all[static_cast<size_t>(s)],
                         static_cast<float>(iou))) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
        kept.push_back(s);
        selected.insert(selected.end(), {b, c, s});
      }
    }
  }
  const int64_t n = static_cast<int64_t>(selected.size() / 3);
  Result<Tensor> out = ctx.AllocateUninitialized(kInt64, {n, 3});
  if (!out.ok()) return out.status();
  std::copy(selected.begin(), selected.end(), out->data<int64_t>());
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

// Most bilinear samples RoiAlign takes per output bin (sampling_ratio or
// the ROI's size decide it); more is refused rather than looped over.
constexpr int64_t kMaxSamplesPerBin = int64_t{1} << 16;

// The bilinear sample of `plane` (h x w) at (y, x), as ONNX Runtime's
// RoiAlign takes it: 0 outside [-1, h] x [-1, w], edges clamped. `max`
// combines the four weighted taps by max instead of sum.
float RoiSample(const float* plane, int64_t h, int64_t w, float y, float x, bool max) {
  if (!(y >= -1.0f && y <= static_cast<float>(h) && x >= -1.0f && x <= static_cast<float>(w))) {
    return 0;  // outside, or NaN
  }
  y = std::max(y, 0.0f);
  x = std::max(x, 0.0f);
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
  if (y_low >= h - 1) {
    y_high = y_low = h - 1;
    y = static_cast<float>(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= w - 1) {
    x_high = x_low = w - 1;
    x = static_cast<float>(x_low);
  } else {
    x_high = x_low + 1;
  }
  const float ly = y - static_cast<float>(y_low), lx = x - static_cast<float>(x_low);
  const float hy = 1 - ly, hx = 1 - lx;
  const float t1 = hy * hx * plane[y_low * w + x_low], t2 = hy * lx * plane[y_low * w + x_high];
  const float t3 = ly * hx * plane[y_high * w + x_low], t4 = ly * lx * plane[y_high * w + x_high];
  return max ? std::max(std::max(std::max(t1, t2), t3), t4) : t1 + t2 + t3 + t4;
}

// RoiAlign: X [N, C, H, W] float, rois [R, 4] float (x1, y1, x2, y2),
// batch_indices [R] int64; attributes mode (avg / max), output_height,
// output_width, sampling_ratio, spatial_scale and (16)
// coordinate_transformation_mode (half_pixel, the default from 16, or
// output_half_pixel). Output: [R, C, output_height, output_width].
Status RoiAlign(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 3));
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  const Tensor& batch = ctx.input(2);
  if (x.dtype() != kFloat || rois.dtype() != kFloat) {
    return ctx.Unsupported("X and rois must be float, got " + DataTypeName(x.dtype()) + " and " +
                           DataTypeName(rois.dtype()));
  }
  if (x.rank() != 4 || rois.rank() != 2 || rois.dim(1) != 4 || batch.dtype() != kInt64 ||
      batch.shape() != std::vector<int64_t>{rois.dim(0)}) {
    return ctx.Error("X must be [N, C, H, W], rois [R, 4] and batch_indices int64 [R], got " +
                     ShapeToString(x.shape()) + ", " + ShapeToString(rois.shape()) + " and " +
                     ShapeToString(batch.shape()));
  }
  const std::string mode = ctx.String("mode", "avg");
  if (mode != "avg" && mode != "max") {
    return ctx.Error("mode must be avg or max, got '" + mode + "'");
  }
  const std::string transform =
      ctx.String("coordinate_transformation_mode", ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  if (transform != "half_pixel" && transform != "output_half_pixel") {
    return ctx.Error("coordinate_transformation_mode must be half_pixel or output_half_pixel, got '" +
                     transform + "'");
  }
  const int64_t out_h = ctx.Int("output_height", 1), out_w = ctx.Int("output_width", 1);
  const int64_t ratio = ctx.Int("sampling_ratio", 0);
  const float scale = ctx.Float("spatial_scale", 1.0f);
  if (out_h < 1 || out_w < 1 || ratio < 0 || ratio > kMaxSamplesPerBin) {
    return ctx.Error("output_height and output_width must be >= 1 and sampling_ratio in [0, " +
                     std::to_string(kMaxSamplesPerBin) + "]");
  }
  const int64_t r_count = rois.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
  Result<Tensor> out = ctx.Allocate(kFloat, {r_count, channels, out_h, out_w});
  if (!out.ok()) return out.status();
  if (out->size() == 0) {
    ctx.set_output(0, std::move(out).value());
    return Status::OK();
  }
  if (h == 0 || w == 0) return ctx.Error("X has an empty image " + ShapeToString(x.shape()));
  const bool half_pixel = transform == "half_pixel";
  const bool is_max = mode == "max";
  float* py = out->data<float>();
  for (int64_t r = 0; r < r_count; ++r) {
    const int64_t b = batch.data<int64_t>()[r];
    if (b < 0 || b >= x.dim(0)) {
      return ctx.Error("batch index " + std::to_string(b) + " of roi " + std::to_string(r) +
                       " is out of range [0, " + std::to_string(x.dim(0)) + ")");
    }
    const float* roi = rois.data<float>() + r * 4;
    const float offset = half_pixel ? 0.5f : 0.0f;
    const float start_w = roi[0] * scale - offset, start_h = roi[1] * scale - offset;
    float roi_w = roi[2] * scale - offset - start_w, roi_h = roi[3] * scale - offset - start_h;
    if (!half_pixel) {
      roi_w = std::max(roi_w, 1.0f);
      roi_h = std::max(roi_h, 1.0f);
    }
    const float bin_h = roi_h / static_cast<float>(out_h), bin_w = roi_w / static_cast<float>(out_w);
    const double grid_h_d = ratio > 0 ? ratio : std::ceil(static_cast<double>(roi_h) / out_h);
    const double grid_w_d = ratio > 0 ? ratio : std::ceil(static_cast<double>(roi_w) / out_w);
    if (!(grid_h_d * grid_w_d <= kMaxSamplesPerBin) || !(grid_h_d >= 0) || !(grid_w_d >= 0)) {
      return ctx.Error("roi " + std::to_string(r) + " needs more than " +
                       std::to_string(kMaxSamplesPerBin) + " samples per bin");
    }
    const int64_t grid_h = static_cast<int64_t>(grid_h_d), grid_w = static_cast<int64_t>(grid_w_d);
    const float count = static_cast<float>(std::max<int64_t>(grid_h * grid_w, 1));
    for (int64_t c = 0; c < channels; ++c) {
      const float* plane = x.data<float>() + (b * channels + c) * h * w;
      for (int64_t ph = 0; ph < out_h; ++ph) {
        for (int64_t pw = 0; pw < out_w; ++pw) {
          float acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < grid_h; ++iy) {
            const float y = start_h + static_cast<float>(ph) * bin_h +
                            (static_cast<float>(iy) + 0.5f) * bin_h / static_cast<float>(grid_h);
            for (int64_t ix = 0; ix < grid_w; ++ix) {
              const float xx = start_w + static_cast<float>(pw) * bin_w +
                               (static_cast<float>(ix) + 0.5f) * bin_w / static_cast<float>(grid_w);
              const float v = RoiSample(plane, h, w, y, xx, is_max);
              if (!is_max) acc += v;
              else acc = first ? v : std::max(acc, v);
              first = false;
            }
          }
          py[((r * channels + c) * out_h + ph) * out_w + pw] = is_max ? acc : acc / count;
        }
      }
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& DetectionKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"NonMaxSuppression", "", 10, 0, NonMaxSuppression},
      {"RoiAlign", "", 10, 0, RoiAlign},
  };
  return kKernels;
}

}  // namespace pq::exec
