#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>

namespace pq::quant {

std::vector<float> SmoothQuantScales(const std::vector<float>& act_max, const std::vector<float>& weight_max,
                                     double alpha) {
  std::vector<float> s(act_max.size(), 1.0f);
  for (size_t j = 0; j < s.size(); ++j) {
    const float x = act_max[j];
    const float w = weight_max[j];
    if (!std::isfinite(x) || !std::isfinite(w) || x < kSmoothQuantMinMagnitude || w < kSmoothQuantMinMagnitude) {
      continue;
    }
    const double v = std::pow(static_cast<double>(x), alpha) / std::pow(static_cast<double>(w), 1.0 - alpha);
    if (std::isfinite(v) && v > 0) s[j] = static_cast<float>(v);
  }
  return s;
}

void AccumulateInputFeatureMax(const std::vector<float>& w, int64_t k, bool k_first, std::vector<float>* max_abs) {
  if (k == 0) return;
  const int64_t n = static_cast<int64_t>(w.size()) / k;
  for (int64_t r = 0; r < (k_first ? k : n); ++r) {
    for (int64_t c = 0; c < (k_first ? n : k); ++c) {
      const float v = std::fabs(w[static_cast<size_t>(r * (k_first ? n : k) + c)]);
      float& m = (*max_abs)[static_cast<size_t>(k_first ? r : c)];
      m = std::max(m, v);
    }
  }
}

}  // namespace pq::quant
