#include "quant/linear_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>

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
    // A denormal bound would underflow to a zero scale: clamp to the
    // smallest normal float (tiny values then quantize to 0, as they should).
    *scale = bound > 0 ? std::max(bound / static_cast<float>(qmax), std::numeric_limits<float>::min())
                       : 1.0f;
    *zero_point = 0;
    return;
  }
  if (max - min <= 0) {
    *scale = 1.0f;
    *zero_point = std::clamp<int64_t>(0, qmin, qmax);
    return;
  }
  *scale = std::max((max - min) / static_cast<float>(qmax - qmin), std::numeric_limits<float>::min());
  const double zp = static_cast<double>(qmin) - static_cast<double>(min) / *scale;
  *zero_point = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(zp)), qmin, qmax);
}

Result<QuantizedWeight> QuantizeLinearWeight(const WeightView& weight, int32_t dtype, int64_t qmin,
                                             int64_t qmax, bool symmetric) {
  int64_t count = 1;
  for (int64_t d : weight.shape) count *= d;
  // The weight seen as [outer, channels, inner] around the channel axis, so
  // that no element needs a division to find its channel.
  const int64_t axis = weight.channel_axis;
  const int64_t channels = axis < 0 ? 1 : weight.shape[static_cast<size_t>(axis)];
  int64_t inner = 1;
  if (axis >= 0) {
    for (size_t d = static_cast<size_t>(axis) + 1; d < weight.shape.size(); ++d) inner *= weight.shape[d];
  } else {
    inner = count;
  }
  const int64_t outer = channels * inner == 0 ? 0 : count / (channels * inner);
  const float* data = weight.data;

  // Per-channel extremes and the finiteness check, in one pass. Channels are
  // independent, so the split over threads cannot change a result.
  std::vector<float> mins(static_cast<size_t>(channels), 0.0f), maxs(static_cast<size_t>(channels), 0.0f);
  std::vector<int64_t> bad(static_cast<size_t>(channels), -1);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < channels; ++c) {
    float lo = 0.0f, hi = 0.0f;
    bool finite = true;
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = data + (o * channels + c) * inner;
      for (int64_t k = 0; k < inner; ++k) {
        lo = std::min(lo, row[k]);
        hi = std::max(hi, row[k]);
        finite &= std::isfinite(row[k]);
      }
    }
    mins[static_cast<size_t>(c)] = lo;
    maxs[static_cast<size_t>(c)] = hi;
    if (!finite) bad[static_cast<size_t>(c)] = c;
  }
  for (int64_t c = 0; c < channels; ++c) {
    if (bad[static_cast<size_t>(c)] < 0) continue;
    for (int64_t i = 0; i < count; ++i) {  // find the first offender for the message
      if (!std::isfinite(data[i])) {
        return Status::InvalidInput("weight '" + weight.name + "' holds " +
                                    (std::isnan(data[i]) ? "NaN" : "Inf") + " at element " +
                                    std::to_string(i) + "; it cannot be quantized");
      }
    }
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
  char* q_out = out.data.data();
  float* dq_out = out.dequantized.data();
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < outer * channels; ++row) {
    const int64_t c = row % channels;
    const float scale = out.params.scale[static_cast<size_t>(c)];
    const float zp = static_cast<float>(out.params.zero_point[static_cast<size_t>(c)]);
    const float* src = data + row * inner;
    for (int64_t k = 0; k < inner; ++k) {
      // QuantizeLinear: saturate(nearbyint(x / scale) + zero_point), in float
      // (exact for 8-bit grids: every value involved is a small integer).
      const float q = std::min(std::max(std::nearbyint(src[k] / scale) + zp, lo), hi);
      q_out[row * inner + k] = static_cast<char>(static_cast<uint8_t>(static_cast<int>(q) & 0xff));
      dq_out[row * inner + k] = (q - zp) * scale;
    }
  }
  return out;
}

}  // namespace pq::quant
