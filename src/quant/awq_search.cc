#include "quant/awq_search.h"

#include <algorithm>
#include <cmath>

#include "quant/gptq_solver.h"

namespace pq::quant {

std::vector<float> AwqScales(const Eigen::VectorXd& mean_abs, double alpha) {
  const int64_t k = mean_abs.size();
  std::vector<float> scales(static_cast<size_t>(k), 1.0f);
  const double top = k > 0 ? mean_abs.maxCoeff() : 0.0;
  if (alpha == 0 || !(top > 0)) return scales;
  const double floor = top * kAwqMinMagnitudeRatio;
  std::vector<double> raw(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) raw[static_cast<size_t>(j)] = std::pow(std::max(mean_abs[j], floor), alpha);
  const auto [lo, hi] = std::minmax_element(raw.begin(), raw.end());
  const double norm = std::sqrt(*lo * *hi);
  for (int64_t j = 0; j < k; ++j) scales[static_cast<size_t>(j)] = static_cast<float>(raw[static_cast<size_t>(j)] / norm);
  return scales;
}

std::vector<float> AwqRoundTrip(const WeightGrid& grid, const float* w, int64_t n, int64_t k,
                                const std::vector<float>& scales) {
  std::vector<float> scaled(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c) scaled[static_cast<size_t>(r * k + c)] = w[r * k + c] * scales[static_cast<size_t>(c)];
  }
  const std::vector<BlockParams> params = grid.FitBlocks(scaled.data(), n, k);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c) {
      float& v = scaled[static_cast<size_t>(r * k + c)];
      v = grid.RoundToGrid(v, params[static_cast<size_t>(grid.BlockOf(r, c, k))]) / scales[static_cast<size_t>(c)];
    }
  }
  return scaled;
}

AwqChoice AwqSearch(const std::vector<AwqWeight>& weights, int64_t k,
                    const Eigen::MatrixXd& h, const Eigen::VectorXd& mean_abs, int threads) {
  AwqChoice best;
  const size_t m = weights.size();
  std::vector<double> base(m, 0.0), rtn(m, 0.0), chosen(m, 0.0);
  double best_total = 0;
  for (int step = 0; step <= kAwqGridSteps; ++step) {
    const double alpha = static_cast<double>(step) / kAwqGridSteps;
    const std::vector<float> scales = AwqScales(mean_abs, alpha);
    std::vector<double> errors(m);
    double total = 0;
    for (size_t i = 0; i < m; ++i) {
      const std::vector<float> q = AwqRoundTrip(*weights[i].grid, weights[i].w, weights[i].n, k, scales);
      const std::vector<double> traces = OutputErrorTraces(weights[i].w, {q.data()}, weights[i].n, k, h, threads);
      base[i] = traces[0];
      errors[i] = traces[1];
      total += traces[1];
    }
    best.error_by_alpha.push_back(total);
    if (step == 0) rtn = errors;
    if (step == 0 || total < best_total) {
      best_total = total;
      best.alpha = alpha;
      best.scales = scales;
      chosen = errors;
    }
  }
  for (size_t i = 0; i < m; ++i) {
    best.error_rtn.push_back(base[i] > 0 ? rtn[i] / base[i] : -1.0);
    best.error_awq.push_back(base[i] > 0 ? chosen[i] / base[i] : -1.0);
  }
  return best;
}

}  // namespace pq::quant
