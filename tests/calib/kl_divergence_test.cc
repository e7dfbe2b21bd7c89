#include "calib/kl_divergence.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace pq::calib {
namespace {

constexpr double kTolerance = 1e-9;

// The definition, computed directly: the reference the prefix-sum version
// must agree with.
double NaiveKl(const std::vector<double>& c, int64_t a, int64_t b, int64_t levels) {
  const int64_t n = b - a;
  std::vector<double> p(c.begin() + a, c.begin() + b);
  for (int64_t u = 0; u < a; ++u) p.front() += c[static_cast<size_t>(u)];
  for (size_t u = static_cast<size_t>(b); u < c.size(); ++u) p.back() += c[u];
  std::vector<double> q(static_cast<size_t>(n), 0.0);
  for (int64_t g = 0; g < levels; ++g) {
    double total = 0, nonzero = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j * levels / n != g) continue;
      total += c[static_cast<size_t>(a + j)];
      nonzero += p[static_cast<size_t>(j)] > 0 ? 1 : 0;
    }
    for (int64_t j = 0; j < n; ++j) {
      if (j * levels / n == g && p[static_cast<size_t>(j)] > 0) q[static_cast<size_t>(j)] = total / nonzero;
    }
  }
  double sp = 0, sq = 0;
  for (double x : p) sp += x;
  for (double x : q) sq += x;
  double kl = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    if (p[j] == 0) continue;
    if (q[j] == 0) return std::numeric_limits<double>::infinity();
    kl += p[j] / sp * std::log((p[j] / sp) / (q[j] / sq));
  }
  return kl;
}

TEST(CalibKlDivergence, MatchesTheDefinitionOnEveryWindow) {
  std::mt19937 rng(5);
  std::poisson_distribution<int> count(3.0);
  std::bernoulli_distribution empty(0.3);
  LineHistogram line;
  line.width = 1;
  line.counts.resize(96);
  for (double& c : line.counts) c = empty(rng) ? 0 : count(rng);
  constexpr int64_t kLevels = 8;
  const KlDivergence kl(line, kLevels);
  int finite = 0;
  for (int64_t a = 0; a < 96; a += 3) {
    for (int64_t b = a + kLevels; b <= 96; b += 5) {
      const double expected = NaiveKl(line.counts, a, b, kLevels);
      const double actual = kl(a, b);
      if (std::isinf(expected)) {
        EXPECT_TRUE(std::isinf(actual)) << a << " " << b;
        continue;
      }
      ++finite;
      EXPECT_NEAR(actual, expected, kTolerance) << "window [" << a << ", " << b << ")";
    }
  }
  EXPECT_GT(finite, 100);
}

TEST(CalibKlDivergence, WholeRangeOfExactlyRepresentableBinsIsZero) {
  LineHistogram line;
  line.width = 1;
  line.counts = {5, 0, 7, 0, 1, 0, 2, 0};  // one non-empty bin per group of two
  const KlDivergence kl(line, 4);
  EXPECT_NEAR(kl(0, 8), 0.0, kTolerance);
  EXPECT_GT(kl(0, 4), 0.01);  // clipping folds 3 values into bin 3
}

}  // namespace
}  // namespace pq::calib
