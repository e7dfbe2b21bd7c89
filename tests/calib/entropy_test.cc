#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "pq/calibration.h"

namespace pq {
namespace {

constexpr int kValues = 200000;

// Bands for the KL-divergence threshold, in units of the distribution's
// scale. The KL search keeps far more of the tail than the MSE optimum: with
// 128 levels and 2048 bins its cost is dominated by how the bulk is
// resampled, so for large samples it picks a threshold near the sample's
// extreme. An independent brute-force numpy version of TensorRT's search
// (another seed) chose: N(0,1): 4.13 sigma (max 4.57) at 200k values, 3.75
// (max 4.04) at 20k; Laplace(b=1): 10.1 b (max 11.8) at 200k; max(0, N(0,1)):
// 4.14 (max 4.52). So the bands are [low, observed max]: low is about 0.6
// below those choices (sampling; the power-of-two histogram range), and the
// threshold cannot exceed the observed extreme.
constexpr double kGaussianLow = 3.5;
constexpr double kLaplaceLow = 8.5;
constexpr double kReluLow = 3.5;
// Planted far outliers (0.01 %) that the threshold must leave out: the search
// starts at 128 of the 2048 bins, i.e. 1/16 of the range, so it can go as low
// as 64 / 16 = 4 here, and should stay below the outliers by far.
constexpr int kOutliers = 20;
constexpr float kOutlierLow = 50.0f, kOutlierHigh = 60.0f;
constexpr double kOutlierThresholdHigh = 10.0;

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
  EXPECT_GE(r.chosen_max, kGaussianLow);
  EXPECT_LE(r.chosen_max, std::max(-r.observed_min, r.observed_max));
  EXPECT_EQ(r.chosen_min, -r.chosen_max);
  EXPECT_LT(r.clipped_fraction, 0.001);
  EXPECT_EQ(r.parameters["levels"], 128);
}

TEST(CalibEntropy, LaplaceClipIsInsideTheBand) {
  const CalibratedRange r = Entropy(Int8SymmetricGrid(), Laplace(12));
  EXPECT_GE(r.chosen_max, kLaplaceLow);
  EXPECT_LE(r.chosen_max, std::max(-r.observed_min, r.observed_max));
}

TEST(CalibEntropy, ReluClipIsInsideTheBand) {
  const CalibratedRange sym = Entropy(Int8SymmetricGrid(), Relu(13));
  // Half the values are exact zeros; they must not drag the threshold down.
  EXPECT_GE(sym.chosen_max, kReluLow);
  EXPECT_LE(sym.chosen_max, sym.observed_max);
  const CalibratedRange asym = Entropy(Uint8AsymmetricGrid(), Relu(13));
  EXPECT_EQ(asym.chosen_min, 0.0f);
  EXPECT_GE(asym.chosen_max, kReluLow);
  EXPECT_LE(asym.chosen_max, asym.observed_max);
  EXPECT_EQ(asym.parameters["levels"], 256);
}

TEST(CalibEntropy, LeavesOutAFarOutlierTail) {
  std::vector<float> v = Gaussian(15);
  std::mt19937 rng(16);
  std::uniform_real_distribution<float> far(kOutlierLow, kOutlierHigh);
  for (int i = 0; i < kOutliers; ++i) v[static_cast<size_t>(i) * 1000] = far(rng);
  const CalibratedRange r = Entropy(Int8SymmetricGrid(), v);
  EXPECT_GE(r.observed_max, kOutlierLow);
  EXPECT_LE(r.chosen_max, kOutlierThresholdHigh);
  EXPECT_GE(r.chosen_max, kGaussianLow);
  // The outliers plus at most a few Gaussian values beyond the threshold.
  EXPECT_GE(r.clipped_fraction, static_cast<double>(kOutliers) / kValues);
  EXPECT_LE(r.clipped_fraction, static_cast<double>(kOutliers) / kValues + 1e-4);
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
