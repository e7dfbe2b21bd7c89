#include "quant/equalize.h"

#include <algorithm>
#include <cmath>

namespace pq::quant {
namespace {

// Elements per output channel, and per (output channel, local input channel).
int64_t PerOutput(const ConvWeight& w) { return w.dims[0] == 0 ? 0 : static_cast<int64_t>(w.values.size()) / w.dims[0]; }
int64_t PerInput(const ConvWeight& w) { return w.dims[1] == 0 ? 0 : PerOutput(w) / w.dims[1]; }

// Calls f(input channel, element index) for every element of `w`.
template <typename F>
void ForEachByInputChannel(const ConvWeight& w, F f) {
  const int64_t m = w.dims[0];
  const int64_t c = w.dims[1];
  const int64_t out_per_group = w.group == 0 ? 0 : m / w.group;
  const int64_t kernel = PerInput(w);
  for (int64_t o = 0; o < m; ++o) {
    const int64_t group = out_per_group == 0 ? 0 : o / out_per_group;
    for (int64_t j = 0; j < c; ++j) {
      const int64_t first = (o * c + j) * kernel;
      for (int64_t e = 0; e < kernel; ++e) f(group * c + j, first + e);
    }
  }
}

}  // namespace

std::vector<float> OutputChannelRanges(const ConvWeight& w) {
  std::vector<float> r(static_cast<size_t>(w.dims[0]), 0.0f);
  const int64_t per = PerOutput(w);
  for (size_t i = 0; i < r.size(); ++i) {
    for (int64_t e = 0; e < per; ++e) r[i] = std::max(r[i], std::fabs(w.values[i * per + e]));
  }
  return r;
}

std::vector<float> InputChannelRanges(const ConvWeight& w) {
  std::vector<float> r(static_cast<size_t>(w.dims[1] * w.group), 0.0f);
  ForEachByInputChannel(w, [&](int64_t i, int64_t e) {
    r[static_cast<size_t>(i)] = std::max(r[static_cast<size_t>(i)], std::fabs(w.values[static_cast<size_t>(e)]));
  });
  return r;
}

std::vector<float> EqualizationScales(const std::vector<float>& r1, const std::vector<float>& r2) {
  std::vector<float> s(r1.size(), 1.0f);
  for (size_t i = 0; i < s.size(); ++i) {
    const double a = r1[i];
    const double b = r2[i];
    if (!std::isfinite(a) || !std::isfinite(b) || a < kEqualizeMinRange || b < kEqualizeMinRange) continue;
    const double v = std::sqrt(a * b) / b;
    if (std::isfinite(v) && v > 0) s[i] = static_cast<float>(v);
  }
  return s;
}

void DivideOutputChannels(const std::vector<float>& s, ConvWeight* w, std::vector<float>* bias) {
  const int64_t per = PerOutput(*w);
  for (size_t i = 0; i < s.size(); ++i) {
    for (int64_t e = 0; e < per; ++e) w->values[i * per + e] /= s[i];
    if (bias != nullptr && !bias->empty()) (*bias)[i] /= s[i];
  }
}

void MultiplyInputChannels(const std::vector<float>& s, ConvWeight* w) {
  ForEachByInputChannel(*w, [&](int64_t i, int64_t e) { w->values[static_cast<size_t>(e)] *= s[static_cast<size_t>(i)]; });
}

double ChannelRangeRatio(const std::vector<float>& ranges) {
  if (ranges.empty()) return 0;
  const auto [lo, hi] = std::minmax_element(ranges.begin(), ranges.end());
  return *hi > 0 ? static_cast<double>(*lo) / *hi : 0.0;
}

}  // namespace pq::quant
