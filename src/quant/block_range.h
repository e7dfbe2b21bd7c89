// The range of a block of weights (its absmax, or its min and max with 0),
// the parameter every blockwise grid fits first. Computed in sixteen lanes
// side by side; max and min are exact and ignore NaN (as a running
// std::max / std::min from 0 does), so the result equals the element-by-
// element scan for any input.
#ifndef PQ_QUANT_BLOCK_RANGE_H_
#define PQ_QUANT_BLOCK_RANGE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace pq::quant {
namespace block_range_internal {

constexpr int kLanes = 16;
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));

inline Lanes Load(const float* w) {
  Lanes v;
  std::memcpy(&v, w, sizeof(v));
  return v;
}

}  // namespace block_range_internal

// max |w| over `count` values, 0 when there are none or all are 0.
inline float AbsMax(const float* w, int64_t count) {
  using namespace block_range_internal;
  Lanes lanes = {};
  int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    const Lanes v = Load(w + i);
    const Lanes a = v < 0 ? -v : v;
    lanes = lanes < a ? a : lanes;
  }
  float absmax = 0;
  for (int j = 0; j < kLanes; ++j) absmax = std::max(absmax, lanes[j]);
  for (; i < count; ++i) absmax = std::max(absmax, std::fabs(w[i]));
  return absmax;
}

// min(0, w...) and max(0, w...) over `count` values.
inline void RangeWithZero(const float* w, int64_t count, float* lo, float* hi) {
  using namespace block_range_internal;
  Lanes low = {}, high = {};
  int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    const Lanes v = Load(w + i);
    low = v < low ? v : low;
    high = high < v ? v : high;
  }
  *lo = 0;
  *hi = 0;
  for (int j = 0; j < kLanes; ++j) {
    *lo = std::min(*lo, low[j]);
    *hi = std::max(*hi, high[j]);
  }
  for (; i < count; ++i) {
    *lo = std::min(*lo, w[i]);
    *hi = std::max(*hi, w[i]);
  }
}

}  // namespace pq::quant

#endif  // PQ_QUANT_BLOCK_RANGE_H_
