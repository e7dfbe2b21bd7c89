#include "quant/bias_correction.h"

#include <algorithm>

#include "pq/data_type.h"

namespace pq::quant {
namespace {

// Output size and leading pad of one spatial axis.
struct AxisWindow {
  int64_t out = 0;
  int64_t pad_begin = 0;
};

AxisWindow Window(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin, int64_t pad_end,
                  const std::string& auto_pad) {
  const int64_t span = (kernel - 1) * dilation + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + span - in);
    return {out, auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2};
  }
  if (auto_pad == "VALID") pad_begin = pad_end = 0;
  const int64_t room = in + pad_begin + pad_end - span;
  return {room < 0 ? 0 : room / stride + 1, pad_begin};
}

}  // namespace

Result<int64_t> AddConvPatchSums(const float* x, const std::vector<int64_t>& shape, const ConvGeometry& g,
                                 std::vector<double>* sums) {
  if (shape.size() != 4 || shape[1] != g.channels) {
    return Status::InvalidInput("is not [N, " + std::to_string(g.channels) + ", H, W]");
  }
  const int64_t n = shape[0], c = shape[1], h = shape[2], w = shape[3];
  const int64_t kh = g.kernel[0], kw = g.kernel[1];
  const AxisWindow rows = Window(h, kh, g.strides[0], g.dilations[0], g.pads[0], g.pads[2], g.auto_pad);
  const AxisWindow cols = Window(w, kw, g.strides[1], g.dilations[1], g.pads[1], g.pads[3], g.auto_pad);
  if (rows.out <= 0 || cols.out <= 0) return Status::InvalidInput("gives no output position");
  sums->resize(static_cast<size_t>(c * kh * kw), 0.0);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* plane = x + (b * c + ch) * h * w;
      for (int64_t i = 0; i < kh; ++i) {
        for (int64_t oy = 0; oy < rows.out; ++oy) {
          const int64_t iy = oy * g.strides[0] - rows.pad_begin + i * g.dilations[0];
          if (iy < 0 || iy >= h) continue;
          const float* row = plane + iy * w;
          for (int64_t j = 0; j < kw; ++j) {
            double s = 0;
            for (int64_t ox = 0; ox < cols.out; ++ox) {
              const int64_t ix = ox * g.strides[1] - cols.pad_begin + j * g.dilations[1];
              if (ix >= 0 && ix < w) s += row[ix];
            }
            (*sums)[static_cast<size_t>((ch * kh + i) * kw + j)] += s;
          }
        }
      }
    }
  }
  return n * rows.out * cols.out;
}

std::vector<double> ConvOutputShift(const std::vector<float>& dw, const std::vector<int64_t>& dims, int64_t group,
                                    const std::vector<double>& patch_mean) {
  const int64_t m = dims[0];
  const int64_t per_output = m == 0 ? 0 : static_cast<int64_t>(dw.size()) / m;  // C/group * kh * kw
  const int64_t out_per_group = group == 0 ? 0 : m / group;
  std::vector<double> shift(static_cast<size_t>(m), 0.0);
  for (int64_t o = 0; o < m; ++o) {
    const int64_t g = out_per_group == 0 ? 0 : o / out_per_group;
    const double* mean = patch_mean.data() + g * per_output;
    const float* d = dw.data() + o * per_output;
    double s = 0;
    for (int64_t e = 0; e < per_output; ++e) s += static_cast<double>(d[e]) * mean[e];
    shift[static_cast<size_t>(o)] = s;
  }
  return shift;
}

std::vector<double> LinearOutputShift(const std::vector<float>& dw, int64_t k, bool k_first,
                                      const std::vector<double>& mean) {
  const int64_t n = k == 0 ? 0 : static_cast<int64_t>(dw.size()) / k;
  std::vector<double> shift(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const float d = dw[static_cast<size_t>(k_first ? i * n + j : j * k + i)];
      shift[static_cast<size_t>(j)] += static_cast<double>(d) * mean[static_cast<size_t>(i)];
    }
  }
  return shift;
}

bool Dequantizable(const ConstantRewrite& r) {
  const QuantParams& p = r.params;
  return r.encoding == WeightEncoding::kDequantizeLinear && p.block_size == 0 &&
         (p.dtype == kInt8 || p.dtype == kUint8) && !p.scale.empty() &&
         (p.axis < 0 || static_cast<size_t>(p.axis) < r.shape.size());
}

Result<std::vector<float>> DequantizedWeight(const ConstantRewrite& r) {
  const QuantParams& p = r.params;
  const bool signed8 = p.dtype == kInt8;
  if (!Dequantizable(r)) {
    return Status::NotSupported("weight '" + r.tensor + "' is not written as int8/uint8 DequantizeLinear");
  }
  const size_t count = r.data.size();
  int64_t inner = 1, channels = 1;
  if (p.axis >= 0 && p.scale.size() > 1) {
    channels = r.shape[static_cast<size_t>(p.axis)];
    for (size_t d = static_cast<size_t>(p.axis) + 1; d < r.shape.size(); ++d) inner *= r.shape[d];
  }
  std::vector<float> out(count);
  for (size_t e = 0; e < count; ++e) {
    const size_t ch = static_cast<size_t>((static_cast<int64_t>(e) / inner) % channels);
    const int64_t q = signed8 ? static_cast<int8_t>(r.data[e]) : static_cast<uint8_t>(r.data[e]);
    const int64_t zp = p.zero_point.empty() ? 0 : p.zero_point[std::min(ch, p.zero_point.size() - 1)];
    out[e] = static_cast<float>(q - zp) * p.scale[std::min(ch, p.scale.size() - 1)];
  }
  return out;
}

}  // namespace pq::quant
