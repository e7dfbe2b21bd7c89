// The NaN/Inf check every scheme runs on a weight before quantizing it.
#ifndef PQ_QUANT_FINITE_CHECK_H_
#define PQ_QUANT_FINITE_CHECK_H_

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <string>

#include "pq/status.h"

namespace pq::quant {

// Errors (kInvalidInput) naming `name` and the first NaN/Inf element.
inline Status CheckFinite(const std::string& name, const float* data, int64_t count) {
  // A float is NaN or Inf when its exponent bits are all ones. Spans are
  // scanned without branching on each element (so the scan vectorizes);
  // only a span holding one is searched for the first.
  constexpr int64_t kSpan = 1024;
  constexpr uint32_t kExponent = 0x7f800000u;
  for (int64_t begin = 0; begin < count; begin += kSpan) {
    const int64_t end = std::min(count, begin + kSpan);
    uint32_t found = 0;
    for (int64_t i = begin; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, data + i, sizeof(bits));
      found |= (bits & kExponent) == kExponent ? 1u : 0u;
    }
    if (found == 0) continue;
    for (int64_t i = begin; i < end; ++i) {
      if (!std::isfinite(data[i])) {
        return Status::InvalidInput("weight '" + name + "' holds " + (std::isnan(data[i]) ? "NaN" : "Inf") +
                                    " at element " + std::to_string(i) + "; it cannot be quantized");
      }
    }
  }
  return Status::OK();
}

}  // namespace pq::quant

#endif  // PQ_QUANT_FINITE_CHECK_H_
