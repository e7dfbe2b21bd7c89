// A synthetic layer input for the GPTQ and grid tests: X = Z A + noise, with
// Z [rows, directions] and A [directions, k] standard normal and the noise
// N(0, noise^2), so the inputs have a few large-variance directions, as a
// transformer's do. Fixed by its seed.
#ifndef PQ_TESTS_QUANT_CORRELATED_HESSIAN_H_
#define PQ_TESTS_QUANT_CORRELATED_HESSIAN_H_

#include <Eigen/Dense>
#include <cstdint>
#include <random>

#include "quant/hessian_collector.h"

namespace pq::quant {

// X^T X of such an X, with `rows` rows.
inline InputHessian SyntheticCorrelatedHessian(uint32_t seed, int64_t k, int64_t rows,
                                               int directions, double noise) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd a(directions, k);
  for (int64_t i = 0; i < a.size(); ++i) a.data()[i] = normal(rng);
  Eigen::MatrixXd x(rows, k);
  for (int64_t r = 0; r < rows; ++r) {
    Eigen::RowVectorXd z(directions);
    for (int d = 0; d < directions; ++d) z(d) = normal(rng);
    x.row(r) = z * a;
    for (int64_t c = 0; c < k; ++c) x(r, c) += noise * normal(rng);
  }
  InputHessian h;
  h.rows = rows;
  h.xtx = x.transpose() * x;
  return h;
}

}  // namespace pq::quant

#endif  // PQ_TESTS_QUANT_CORRELATED_HESSIAN_H_
