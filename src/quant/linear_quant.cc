#include "quant/linear_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/error_sums.h"
#include "quant/finite_check.h"

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

namespace {

// Elements per work item. Fixed, so that no result depends on the number of
// threads: every chunk is computed alone and chunks are merged in order.
constexpr int64_t kChunk = 1 << 14;

// The weight as [outer, channels, inner] around the channel axis.
struct ChannelLayout {
  int64_t count = 0, channels = 1, inner = 1;
};

// Calls run(offset, length, channel, per_element) for the runs that make up
// [begin, end): per_element = false: `length` elements of one channel;
// per_element = true (inner == 1): element j belongs to channel + j.
template <typename RunFn>
void ForEachRun(const ChannelLayout& l, int64_t begin, int64_t end, RunFn run) {
  for (int64_t i = begin; i < end;) {
    const int64_t c = (i / l.inner) % l.channels;
    const bool per_element = l.inner == 1 && l.channels > 1;
    const int64_t len =
        per_element ? std::min(end - i, l.channels - c) : std::min(end - i, l.inner - i % l.inner);
    run(i, len, c, per_element);
    i += len;
  }
}

// QuantizeLinear on one value: saturate(nearbyint(x / scale) + zero_point),
// in float (exact for 8-bit grids: every value involved is a small integer).
inline float QuantizeOne(float x, float scale, float zp, float lo, float hi) {
  return std::min(std::max(std::nearbyint(x / scale) + zp, lo), hi);
}

}  // namespace

Result<QuantizedWeight> QuantizeLinearWeight(const WeightView& weight, int32_t dtype, int64_t qmin,
                                             int64_t qmax, bool symmetric) {
  ChannelLayout layout;
  layout.count = 1;
  for (int64_t d : weight.shape) layout.count *= d;
  const int64_t axis = weight.channel_axis;
  if (axis >= 0) {
    layout.channels = weight.shape[static_cast<size_t>(axis)];
    for (size_t d = static_cast<size_t>(axis) + 1; d < weight.shape.size(); ++d) {
      layout.inner *= weight.shape[d];
    }
  } else {
    layout.inner = std::max<int64_t>(layout.count, 1);
  }
  const int64_t count = layout.count, channels = layout.channels;
  const size_t nch = static_cast<size_t>(channels);
  const float* data = weight.data;
  const int64_t chunks = (count + kChunk - 1) / kChunk;

  // Pass 1: per-channel extremes and whether any value is NaN/Inf. Min and
  // max are exact in any order, so threads keep private extremes.
  std::vector<float> mins(nch, 0.0f), maxs(nch, 0.0f);
  int any_bad = 0;
#pragma omp parallel reduction(| : any_bad)
  {
    std::vector<float> lo(nch, 0.0f), hi(nch, 0.0f);
#pragma omp for schedule(static)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      ForEachRun(layout, chunk * kChunk, std::min(count, (chunk + 1) * kChunk),
                 [&](int64_t at, int64_t len, int64_t c, bool per_element) {
                   const float* x = data + at;
                   int bad = 0;
                   if (per_element) {
                     float* l = lo.data() + c;
                     float* h = hi.data() + c;
                     for (int64_t j = 0; j < len; ++j) {
                       l[j] = x[j] < l[j] ? x[j] : l[j];
                       h[j] = x[j] > h[j] ? x[j] : h[j];
                       bad |= !(std::fabs(x[j]) <= std::numeric_limits<float>::max());
                     }
                   } else {
                     float l = lo[static_cast<size_t>(c)], h = hi[static_cast<size_t>(c)];
                     for (int64_t j = 0; j < len; ++j) {
                       l = x[j] < l ? x[j] : l;
                       h = x[j] > h ? x[j] : h;
                       bad |= !(std::fabs(x[j]) <= std::numeric_limits<float>::max());
                     }
                     lo[static_cast<size_t>(c)] = l;
                     hi[static_cast<size_t>(c)] = h;
                   }
                   any_bad |= bad;
                 });
    }
#pragma omp critical
    for (size_t c = 0; c < nch; ++c) {
      mins[c] = std::min(mins[c], lo[c]);
      maxs[c] = std::max(maxs[c], hi[c]);
    }
  }
  if (any_bad != 0) return CheckFinite(weight.name, data, count);  // names the first offender
  QuantizedWeight out;
  out.params.dtype = dtype;
  out.params.axis = axis;
  out.params.scale.resize(nch);
  out.params.zero_point.resize(nch);
  std::vector<float> zps(nch);
  for (size_t c = 0; c < nch; ++c) {
    ChooseParams(mins[c], maxs[c], qmin, qmax, symmetric, &out.params.scale[c],
                 &out.params.zero_point[c]);
    zps[c] = static_cast<float>(out.params.zero_point[c]);
  }

  // Pass 2: codes, and the error of what DequantizeLinear gives back,
  // measured chunk by chunk (no dequantized copy of the weight is kept).
  out.data.resize(static_cast<size_t>(count));
  uint8_t* q_out = reinterpret_cast<uint8_t*>(out.data.data());
  const float* scales = out.params.scale.data();
  const float* zp = zps.data();
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  std::vector<ErrorSums> sums(static_cast<size_t>(chunks));
#pragma omp parallel
  {
    std::vector<float> dq(static_cast<size_t>(kChunk));
#pragma omp for schedule(static)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t begin = chunk * kChunk, end = std::min(count, begin + kChunk);
      ForEachRun(layout, begin, end, [&](int64_t at, int64_t len, int64_t c, bool per_element) {
        const float* x = data + at;
        uint8_t* q = q_out + at;
        float* d = dq.data() + (at - begin);
        if (per_element) {
          for (int64_t j = 0; j < len; ++j) {
            const float v = QuantizeOne(x[j], scales[c + j], zp[c + j], lo, hi);
            q[j] = static_cast<uint8_t>(static_cast<int>(v) & 0xff);
            d[j] = (v - zp[c + j]) * scales[c + j];
          }
        } else {
          const float s = scales[c], z = zp[c];
          for (int64_t j = 0; j < len; ++j) {
            const float v = QuantizeOne(x[j], s, z, lo, hi);
            q[j] = static_cast<uint8_t>(static_cast<int>(v) & 0xff);
            d[j] = (v - z) * s;
          }
        }
      });
      sums[static_cast<size_t>(chunk)].Add(data + begin, dq.data(), end - begin);
    }
  }
  out.error = MergeInOrder(sums);
  return out;
}

}  // namespace pq::quant
