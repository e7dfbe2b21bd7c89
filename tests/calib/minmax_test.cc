#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "pq/calibration.h"

namespace pq {
namespace {

CalibratedRange CalibrateInBlocks(const CalibrationOptions& options, const std::vector<float>& data) {
  auto calibrator = CreateCalibrator(options);
  EXPECT_TRUE(calibrator.ok()) << calibrator.status().ToString();
  // Observed in uneven blocks, as an executor would deliver them.
  const int64_t n = static_cast<int64_t>(data.size());
  for (int64_t first = 0; first < n; first += 1000) {
    calibrator.value()->Observe(data.data() + first, std::min<int64_t>(1000, n - first));
  }
  auto range = calibrator.value()->Compute();
  EXPECT_TRUE(range.ok()) << range.status().ToString();
  return range.ok() ? range.value() : CalibratedRange{};
}

CalibrationOptions MinMax(QuantGrid grid) {
  CalibrationOptions options;
  options.method = "minmax";
  options.grid = grid;
  return options;
}

TEST(CalibMinMax, IsExactOnFixedSeedData) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> uniform(-0.75f, 2.5f);
  std::vector<float> data(12345);
  for (float& x : data) x = uniform(rng);
  data[777] = -1.25f;
  data[9000] = 3.5f;
  const CalibratedRange asym = CalibrateInBlocks(MinMax(Uint8AsymmetricGrid()), data);
  EXPECT_EQ(asym.method, "minmax");
  EXPECT_EQ(asym.values_seen, 12345);
  EXPECT_EQ(asym.observed_min, -1.25f);
  EXPECT_EQ(asym.observed_max, 3.5f);
  EXPECT_EQ(asym.chosen_min, -1.25f);
  EXPECT_EQ(asym.chosen_max, 3.5f);
  EXPECT_EQ(asym.clipped_fraction, 0.0);
  const CalibratedRange sym = CalibrateInBlocks(MinMax(Int8SymmetricGrid()), data);
  EXPECT_EQ(sym.chosen_min, -3.5f);
  EXPECT_EQ(sym.chosen_max, 3.5f);
  EXPECT_EQ(sym.parameters["grid"]["symmetric"], true);
}

TEST(CalibMinMax, RangeAlwaysIncludesZero) {
  const CalibratedRange positive = CalibrateInBlocks(MinMax(Uint8AsymmetricGrid()), {2.0f, 3.0f, 5.0f});
  EXPECT_EQ(positive.chosen_min, 0.0f);
  EXPECT_EQ(positive.chosen_max, 5.0f);
  const CalibratedRange negative = CalibrateInBlocks(MinMax(Uint8AsymmetricGrid()), {-2.0f, -3.0f});
  EXPECT_EQ(negative.chosen_min, -3.0f);
  EXPECT_EQ(negative.chosen_max, 0.0f);
}

TEST(CalibMinMax, ConstantAndAllZeroTensorsGiveValidRanges) {
  const CalibratedRange constant = CalibrateInBlocks(MinMax(Int8SymmetricGrid()), std::vector<float>(500, 3.0f));
  EXPECT_EQ(constant.chosen_min, -3.0f);
  EXPECT_EQ(constant.chosen_max, 3.0f);
  const CalibratedRange zeros = CalibrateInBlocks(MinMax(Uint8AsymmetricGrid()), std::vector<float>(500, 0.0f));
  EXPECT_EQ(zeros.chosen_min, 0.0f);
  EXPECT_EQ(zeros.chosen_max, 0.0f);
  EXPECT_EQ(zeros.values_seen, 500);
}

TEST(CalibMinMax, NanAndInfAreCountedAndIgnored) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const CalibratedRange range =
      CalibrateInBlocks(MinMax(Uint8AsymmetricGrid()), {std::nanf(""), -1.0f, kInf, 2.0f, -kInf});
  EXPECT_EQ(range.values_seen, 5);
  EXPECT_EQ(range.nan_count, 1);
  EXPECT_EQ(range.inf_count, 2);
  EXPECT_EQ(range.chosen_min, -1.0f);
  EXPECT_EQ(range.chosen_max, 2.0f);
}

TEST(CalibMinMax, NoFiniteValueIsAnError) {
  auto calibrator = CreateCalibrator(MinMax(Int8SymmetricGrid()));
  ASSERT_TRUE(calibrator.ok());
  const std::vector<float> nans(4, std::nanf(""));
  calibrator.value()->Observe(nans.data(), 4);
  auto range = calibrator.value()->Compute();
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(range.status().message().find("4 NaN"), std::string::npos) << range.status().message();
}

}  // namespace
}  // namespace pq
