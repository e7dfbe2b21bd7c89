#include <cmath>
#include <iostream>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "pq/calibration.h"

namespace pq {
namespace {

constexpr int kValues = 200000;

// Bands for the MSE-optimal clip, in units of the distribution's scale. The
// optimum was computed by brute force (exact round-and-clamp error on 200k
// samples, numpy, another seed): N(0,1) on int8 [-127, 127]: 3.77 (within 5 %
// of the least error for 3.65..4.04); Laplace(b=1): 9.29 (8.84..9.92);
// max(0, N(0,1)) on int8: 4.06 (3.79..4.33) and on uint8 [0, 255]: 4.53
// (4.25..4.73). Banner et al.'s analytic values (ACIQ, 8 bits) agree: 3.92
// sigma and 9.89 b. The bands widen those 5 % regions by about 0.3 for the
// sample's tail and the histogram's error model.
constexpr double kGaussianLow = 3.3, kGaussianHigh = 4.4;
constexpr double kLaplaceLow = 8.0, kLaplaceHigh = 10.5;
constexpr double kReluInt8Low = 3.5, kReluInt8High = 4.6;
constexpr double kReluUint8Low = 3.9, kReluUint8High = 5.0;

std::vector<float> Gaussian(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(kValues);
  for (float& x : v) x = normal(rng);
  return v;
}

std::vector<float> Laplace(uint32_t seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<float> magnitude(1.0f);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> v(kValues);
  for (float& x : v) x = negative(rng) ? -magnitude(rng) : magnitude(rng);
  return v;
}

std::vector<float> Relu(uint32_t seed) {
  std::vector<float> v = Gaussian(seed);
  for (float& x : v) x = std::max(x, 0.0f);
  return v;
}

CalibratedRange Entropy(QuantGrid grid, const std::vector<float>& v) {
  CalibrationOptions options;
  options.method = "entropy";
  options.grid = grid;
  auto calibrator = CreateCalibrator(options);
  EXPECT_TRUE(calibrator.ok());
  calibrator.value()->Observe(v.data(), static_cast<int64_t>(v.size()));
  auto range = calibrator.value()->Compute();
  EXPECT_TRUE(range.ok()) << range.status().ToString();
  return range.ok() ? range.value() : CalibratedRange{};
}

TEST(CalibEntropy, GaussianClipIsInsideTheBand) {
  const CalibratedRange r = Entropy(Int8SymmetricGrid(), Gaussian(11));
  std::cout << "VAL " << r.chosen_min << " " << r.chosen_max << " max " << r.observed_max << " clip " << r.clipped_fraction << "\n";
  EXPECT_GE(r.chosen_max, kGaussianLow);
  EXPECT_LE(r.chosen_max, kGaussianHigh);
  EXPECT_LT(r.chosen_max, r.observed_max);  // it does clip
  EXPECT_EQ(r.chosen_min, -r.chosen_max);
  EXPECT_GT(r.clipped_fraction, 0.0);
  EXPECT_LT(r.clipped_fraction, 0.001);
}

TEST(CalibEntropy, LaplaceClipIsInsideTheBand) {
  const CalibratedRange r = Entropy(Int8SymmetricGrid(), Laplace(12));
  std::cout << "VAL " << r.chosen_min << " " << r.chosen_max << " max " << r.observed_max << " clip " << r.clipped_fraction << "\n";
  EXPECT_GE(r.chosen_max, kLaplaceLow);
  EXPECT_LE(r.chosen_max, kLaplaceHigh);
}

TEST(CalibEntropy, ReluClipIsInsideTheBand) {
  const CalibratedRange sym = Entropy(Int8SymmetricGrid(), Relu(13));
  std::cout << "VAL " << sym.chosen_max << " " << asym.chosen_max << "\n";
  EXPECT_GE(sym.chosen_max, kReluInt8Low);
  EXPECT_LE(sym.chosen_max, kReluInt8High);
  const CalibratedRange asym = Entropy(Uint8AsymmetricGrid(), Relu(13));
  EXPECT_EQ(asym.chosen_min, 0.0f);
  EXPECT_GE(asym.chosen_max, kReluUint8Low);
  EXPECT_LE(asym.chosen_max, kReluUint8High);
}

TEST(CalibEntropy, AsymmetricGaussianIsRoughlyCentred) {
  const CalibratedRange r = Entropy(Uint8AsymmetricGrid(), Gaussian(14));
  EXPECT_LT(r.chosen_min, -kGaussianLow + 0.5);
  EXPECT_GT(r.chosen_max, kGaussianLow - 0.5);
  EXPECT_LE(r.chosen_max, r.observed_max);
  EXPECT_GE(r.chosen_min, r.observed_min);
}

TEST(CalibEntropy, ConstantAndAllZeroTensorsGiveValidRanges) {
  const CalibratedRange constant = Entropy(Uint8AsymmetricGrid(), std::vector<float>(1000, -2.0f));
  EXPECT_EQ(constant.chosen_min, -2.0f);
  EXPECT_EQ(constant.chosen_max, 0.0f);
  const CalibratedRange zeros = Entropy(Int8SymmetricGrid(), std::vector<float>(1000, 0.0f));
  EXPECT_EQ(zeros.chosen_min, 0.0f);
  EXPECT_EQ(zeros.chosen_max, 0.0f);
}

}  // namespace
}  // namespace pq
