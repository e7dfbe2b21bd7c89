#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "pq/calibration.h"

namespace pq {
namespace {

// 0.1 % planted outliers in [kOutlierLow, kOutlierHigh] (either sign) among
// N(0, 1) values.
constexpr int kValues = 100000;
constexpr int kOutliers = 100;
constexpr float kOutlierLow = 40.0f;
constexpr float kOutlierHigh = 60.0f;
// Keeping 99.8 % of |x| drops the 0.1 % outliers and the top 0.1 % of |N(0,1)|
// (99.9/99.8 split): the threshold is |N(0,1)|'s 99.9 % quantile, 3.29.
// Band: ±0.3 for sampling and the histogram's bin width (60/1024 here).
constexpr double kPercentileKeep = 99.8;
constexpr double kExpectedThreshold = 3.29;
constexpr double kThresholdTolerance = 0.3;
constexpr double kExpectedClipped = 0.002;
constexpr double kClippedTolerance = 0.0003;

std::vector<float> GaussianWithOutliers() {
  std::mt19937 rng(4242);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> far(kOutlierLow, kOutlierHigh);
  std::vector<float> v(kValues);
  for (float& x : v) x = normal(rng);
  for (int i = 0; i < kOutliers; ++i) {
    v[static_cast<size_t>(i) * (kValues / kOutliers)] = (i % 2 ? -1.0f : 1.0f) * far(rng);
  }
  return v;
}

Result<CalibratedRange> Percentile(double percentile, QuantGrid grid, const std::vector<float>& v) {
  CalibrationOptions options;
  options.method = "percentile";
  options.percentile = percentile;
  options.grid = grid;
  auto calibrator = CreateCalibrator(options);
  if (!calibrator.ok()) return calibrator.status();
  calibrator.value()->Observe(v.data(), static_cast<int64_t>(v.size()));
  return calibrator.value()->Compute();
}

TEST(CalibPercentile, ClipsAPlantedOutlierTail) {
  const std::vector<float> data = GaussianWithOutliers();
  auto range = Percentile(kPercentileKeep, Int8SymmetricGrid(), data);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_NEAR(range->chosen_max, kExpectedThreshold, kThresholdTolerance);
  EXPECT_EQ(range->chosen_min, -range->chosen_max);
  EXPECT_GE(range->observed_max, kOutlierLow);
  EXPECT_NEAR(range->clipped_fraction, kExpectedClipped, kClippedTolerance);
  EXPECT_EQ(range->parameters["percentile"], kPercentileKeep);
  EXPECT_EQ(range->parameters["bins"], 2048);
}

TEST(CalibPercentile, AsymmetricGridClipsBothTails) {
  const std::vector<float> data = GaussianWithOutliers();
  auto range = Percentile(kPercentileKeep, Uint8AsymmetricGrid(), data);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  // Each tail keeps 99.8 %: about N(0,1)'s 0.2 % / 99.8 % quantiles, ±2.88.
  EXPECT_GT(range->chosen_min, -kOutlierLow);
  EXPECT_LT(range->chosen_min, -2.0f);
  EXPECT_LT(range->chosen_max, kOutlierLow);
  EXPECT_GT(range->chosen_max, 2.0f);
  EXPECT_EQ(range->parameters["histogram"], "x");
}

TEST(CalibPercentile, TooHighAPercentileKeepsTheOutliers) {
  // 99.99 % keeps more than the 99.9 % of inliers, so the outliers set the range.
  auto range = Percentile(99.99, Int8SymmetricGrid(), GaussianWithOutliers());
  ASSERT_TRUE(range.ok());
  EXPECT_GT(range->chosen_max, kOutlierLow);
}

TEST(CalibPercentile, HundredIsTheObservedRange) {
  const std::vector<float> data = GaussianWithOutliers();
  auto range = Percentile(100.0, Uint8AsymmetricGrid(), data);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->chosen_min, range->observed_min);
  EXPECT_EQ(range->chosen_max, range->observed_max);
  EXPECT_EQ(range->clipped_fraction, 0.0);
}

TEST(CalibPercentile, ConstantAndAllZeroTensorsGiveValidRanges) {
  auto constant = Percentile(99.0, Int8SymmetricGrid(), std::vector<float>(1000, 3.0f));
  ASSERT_TRUE(constant.ok());
  EXPECT_EQ(constant->chosen_max, 3.0f);
  EXPECT_EQ(constant->chosen_min, -3.0f);
  auto zeros = Percentile(99.0, Uint8AsymmetricGrid(), std::vector<float>(1000, 0.0f));
  ASSERT_TRUE(zeros.ok());
  EXPECT_EQ(zeros->chosen_min, 0.0f);
  EXPECT_EQ(zeros->chosen_max, 0.0f);
  EXPECT_EQ(zeros->clipped_fraction, 0.0);
}

TEST(CalibPercentile, RefusesPercentilesOutsideTheRange) {
  for (double bad : {0.0, -1.0, 100.5, std::nan("")}) {
    auto range = Percentile(bad, Int8SymmetricGrid(), {1.0f});
    ASSERT_FALSE(range.ok()) << bad;
    EXPECT_EQ(range.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(range.status().message().find("percentile"), std::string::npos);
  }
}

}  // namespace
}  // namespace pq
