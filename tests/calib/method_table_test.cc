#include <string>

#include <gtest/gtest.h>

#include "pq/calibration.h"

namespace pq {
namespace {

TEST(CalibMethodTable, ListsTheFourMethodsInOrder) {
  const auto& methods = CalibrationMethods();
  ASSERT_EQ(methods.size(), 4u);
  EXPECT_STREQ(methods[0].name, "minmax");
  EXPECT_STREQ(methods[1].name, "percentile");
  EXPECT_STREQ(methods[2].name, "entropy");
  EXPECT_STREQ(methods[3].name, "mse");
  for (const CalibrationMethod& method : methods) {
    EXPECT_GT(std::string(method.summary).size(), 10u) << method.name;
    CalibrationOptions options;
    options.method = method.name;
    auto calibrator = method.factory(options);
    ASSERT_TRUE(calibrator.ok()) << method.name << ": " << calibrator.status().ToString();
    const float values[] = {-1.0f, 0.5f, 2.0f};
    calibrator.value()->Observe(values, 3);
    auto range = calibrator.value()->Compute();
    ASSERT_TRUE(range.ok()) << method.name;
    EXPECT_EQ(range->method, method.name);
  }
}

TEST(CalibMethodTable, UnknownMethodListsTheValidNames) {
  CalibrationOptions options;
  options.method = "kl";
  auto calibrator = CreateCalibrator(options);
  ASSERT_FALSE(calibrator.ok());
  EXPECT_EQ(calibrator.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(calibrator.status().message(),
            "unknown calibration method 'kl' (valid: minmax, percentile, entropy, mse)");
}

TEST(CalibMethodTable, RefusesBadBinsAndGrids) {
  CalibrationOptions options;
  options.method = "entropy";
  for (int bins : {0, 100, 1000, 128, 1 << 21}) {
    options.bins = bins;
    auto calibrator = CreateCalibrator(options);
    ASSERT_FALSE(calibrator.ok()) << bins;
    EXPECT_NE(calibrator.status().message().find("power of two"), std::string::npos);
  }
  options.bins = 2048;
  options.grid = QuantGrid{true, 0, 255};  // symmetric needs negative values
  EXPECT_EQ(CreateCalibrator(options).status().code(), Status::Code::kInvalidArgument);
  options.grid = QuantGrid{false, 5, 5};
  EXPECT_EQ(CreateCalibrator(options).status().code(), Status::Code::kInvalidArgument);
  // minmax uses no histogram, so bins do not matter to it.
  options.method = "minmax";
  options.grid = Int8SymmetricGrid();
  options.bins = 3;
  EXPECT_TRUE(CreateCalibrator(options).ok());
}

}  // namespace
}  // namespace pq
