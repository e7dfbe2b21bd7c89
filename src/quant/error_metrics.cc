#include <cmath>
#include <limits>

#include "pq/quant_params.h"

namespace pq {

ErrorMetrics ComputeErrorMetrics(const float* original, const float* dequantized, int64_t count) {
  double signal = 0, noise = 0, dot = 0, norm_a = 0, norm_b = 0, max_abs = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double a = original[i], b = dequantized[i], d = a - b;
    signal += a * a;
    noise += d * d;
    dot += a * b;
    norm_a += a * a;
    norm_b += b * b;
    max_abs = std::max(max_abs, std::fabs(d));
  }
  ErrorMetrics m;
  m.mse = count > 0 ? noise / static_cast<double>(count) : 0.0;
  m.max_abs = max_abs;
  if (noise == 0) {
    m.sqnr_db = std::numeric_limits<double>::infinity();
  } else if (signal == 0) {
    m.sqnr_db = -std::numeric_limits<double>::infinity();
  } else {
    m.sqnr_db = 10.0 * std::log10(signal / noise);
  }
  if (norm_a == 0 && norm_b == 0) {
    m.cosine = 1.0;
  } else if (norm_a == 0 || norm_b == 0) {
    m.cosine = 0.0;
  } else {
    m.cosine = dot / (std::sqrt(norm_a) * std::sqrt(norm_b));
  }
  return m;
}

}  // namespace pq
