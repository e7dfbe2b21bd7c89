#include "quant/linear_quant.h"

#include <algorithm>
#include <cmath>

namespace pq::quant {

int64_t QuantizeValue(float x, float scale, int64_t zero_point, int64_t qmin, int64_t qmax) {
  const float scaled = std::nearbyint(x / scale);
  const double q = static_cast<double>(scaled) + static_cast<double>(zero_point);
  return static_cast<int64_t>(std::min<double>(std::max<double>(q, static_cast<double>(qmin)),
                                               static_cast<double>(qmax)));
}

void ChooseParams(float min, float max, int64_t qmin, int64_t qmax, bool symmetric, float* scale,
                  int64_t* zero_point) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  if (symmetric) {
    const float bound = std::max(std::fabs(min), std::fabs(max));
    *scale = bound > 0 ? bound / static_cast<float>(qmax) : 1.0f;
    *zero_point = 0;
    return;
  }
  if (max - min <= 0) {
    *scale = 1.0f;
    *zero_point = std::clamp<int64_t>(0, qmin, qmax);
    return;
  }
  *scale = (max - min) / static_cast<float>(qmax - qmin);
  const double zp = static_cast<double>(qmin) - static_cast<double>(min) / *scale;
  *zero_point = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(zp)), qmin, qmax);
}

Result<QuantizedWeight> QuantizeLinearWeight(const WeightView& weight, int32_t dtype, int64_t qmin,
                                             int64_t qmax, bool symmetric) {
  int64_t count = 1;
  for (int64_t d : weight.shape) count *= d;
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(weight.data[i])) {
      return Status::InvalidInput("weight '" + weight.name + "' holds " +
                                  (std::isnan(weight.data[i]) ? "NaN" : "Inf") + " at element " +
                                  std::to_string(i) + "; it cannot be quantized");
    }
  }
  const int64_t axis = weight.channel_axis;
  const int64_t channels = axis < 0 ? 1 : weight.shape[static_cast<size_t>(axis)];
  int64_t inner = 1;  // elements after the axis
  if (axis >= 0) {
    for (size_t d = static_cast<size_t>(axis) + 1; d < weight.shape.size(); ++d) inner *= weight.shape[d];
  }
  auto channel_of = [&](int64_t i) { return axis < 0 ? 0 : (i / inner) % channels; };

  std::vector<float> mins(static_cast<size_t>(channels), 0.0f), maxs(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < count; ++i) {
    const size_t c = static_cast<size_t>(channel_of(i));
    mins[c] = std::min(mins[c], weight.data[i]);
    maxs[c] = std::max(maxs[c], weight.data[i]);
  }
  QuantizedWeight out;
  out.params.dtype = dtype;
  out.params.axis = axis;
  out.params.scale.resize(static_cast<size_t>(channels));
  out.params.zero_point.resize(static_cast<size_t>(channels));
  for (size_t c = 0; c < static_cast<size_t>(channels); ++c) {
    ChooseParams(mins[c], maxs[c], qmin, qmax, symmetric, &out.params.scale[c],
                 &out.params.zero_point[c]);
  }
  out.data.resize(static_cast<size_t>(count));
  out.dequantized.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const size_t c = static_cast<size_t>(channel_of(i));
    const int64_t q = QuantizeValue(weight.data[i], out.params.scale[c], out.params.zero_point[c],
                                    qmin, qmax);
    out.data[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint8_t>(q & 0xff));
    out.dequantized[static_cast<size_t>(i)] =
        static_cast<float>(q - out.params.zero_point[c]) * out.params.scale[c];
  }
  return out;
}

}  // namespace pq::quant
