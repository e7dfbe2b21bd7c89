// The NaN/Inf check every scheme runs on a weight before quantizing it.
#ifndef PQ_QUANT_FINITE_CHECK_H_
#define PQ_QUANT_FINITE_CHECK_H_

#include <cmath>
#include <cstdint>
#include <string>

#include "pq/status.h"

namespace pq::quant {

// Errors (kInvalidInput) naming `name` and the first NaN/Inf element.
inline Status CheckFinite(const std::string& name, const float* data, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(data[i])) {
      return Status::InvalidInput("weight '" + name + "' holds " +
                                  (std::isnan(data[i]) ? "NaN" : "Inf") + " at element " +
                                  std::to_string(i) + "; it cannot be quantized");
    }
  }
  return Status::OK();
}

}  // namespace pq::quant

#endif  // PQ_QUANT_FINITE_CHECK_H_
