// Direct tests of src/quant/calibrate_stage.cc: the calibration options take
// the scheme's activation grid, and statistics handed in are reused only when
// they cover the tensors and were made the same way (else the data is read
// again: with the calibration file gone, that fails).
#include "quant/calibrate_stage.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "quant/plan.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

std::unique_ptr<Scheme> SchemeNamed(const std::string& name) { return std::move(MakeScheme(name)).value(); }

TEST(CalibrateStageTest, CalibrationForSetsTheSchemesGridAndKeepsTheRest) {
  QuantizeOptions o;
  o.calibration.method = "percentile";
  o.calibration.percentile = 99.5;
  o.calibration.bins = 512;
  o.calibration.grid = QuantGrid{true, -1, 1};
  const CalibrationOptions sym = CalibrationFor(o, *SchemeNamed("int8-sym"));
  EXPECT_TRUE(sym.grid.symmetric);
  EXPECT_EQ(sym.grid.qmin, Int8SymmetricGrid().qmin);
  EXPECT_EQ(sym.grid.qmax, Int8SymmetricGrid().qmax);
  EXPECT_EQ(sym.method, "percentile");
  EXPECT_EQ(sym.percentile, 99.5);
  EXPECT_EQ(sym.bins, 512);
  const CalibrationOptions asym = CalibrationFor(o, *SchemeNamed("int8-asym"));
  EXPECT_FALSE(asym.grid.symmetric);
  EXPECT_EQ(asym.grid.qmin, Uint8AsymmetricGrid().qmin);
  EXPECT_EQ(asym.grid.qmax, Uint8AsymmetricGrid().qmax);
}

class CalibrateStageReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::ModelOf(testing::ConvMlpProto());
    testing::WriteConvMlpCalibration(dir_.File("calib.npy"), 4, 1.0f, 0.25f);
    options_.calib_paths = {dir_.File("calib.npy")};
    scheme_ = SchemeNamed("int8-sym");
    const QuantPlan plan = BuildPlan(*model_, options_, true, true, *scheme_, nullptr);
    tensors_ = plan.calibrate;
    Result<ActivationStats> first = CalibrateActivations(*model_, /*preparation=*/{}, tensors_, options_, *scheme_, {});
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    stats_ = std::move(first).value();
    std::remove(dir_.File("calib.npy").c_str());
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Scheme> scheme_;
  QuantizeOptions options_;
  std::set<std::string> tensors_;
  ActivationStats stats_;
};

TEST_F(CalibrateStageReuseTest, FirstRunRecordsWhatItCalibrated) {
  EXPECT_EQ(tensors_, (std::set<std::string>{"X", "R", "M"}));
  EXPECT_TRUE(stats_.Covers(tensors_));
  EXPECT_EQ(stats_.samples, 4);
  EXPECT_EQ(stats_.batch, 1);
  ASSERT_EQ(stats_.files.size(), 1u);
  EXPECT_EQ(stats_.files[0].samples, 4);
  EXPECT_TRUE(stats_.MadeWith(CalibrationFor(options_, *scheme_)));
  // The data gone and no statistics handed in: calibration fails.
  EXPECT_FALSE(CalibrateActivations(*model_, /*preparation=*/{}, tensors_, options_, *scheme_, {}).ok());
}

TEST_F(CalibrateStageReuseTest, CoveringStatisticsMadeTheSameWayAreReused) {
  options_.activation_stats = stats_;
  Result<ActivationStats> again = CalibrateActivations(*model_, /*preparation=*/{}, tensors_, options_, *scheme_, {});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ActivationStatsToJson(again.value()), ActivationStatsToJson(stats_));
  // A subset of the tensors is covered too.
  Result<ActivationStats> subset = CalibrateActivations(*model_, /*preparation=*/{}, {"R"}, options_, *scheme_, {});
  EXPECT_TRUE(subset.ok()) << subset.status().ToString();
}

TEST_F(CalibrateStageReuseTest, AnotherMethodOrGridOrTensorIsCalibratedAnew) {
  options_.activation_stats = stats_;
  QuantizeOptions method = options_;
  method.calibration.method = "percentile";
  EXPECT_FALSE(CalibrateActivations(*model_, /*preparation=*/{}, tensors_, method, *scheme_, {}).ok());
  EXPECT_FALSE(CalibrateActivations(*model_, /*preparation=*/{}, tensors_, options_, *SchemeNamed("int8-asym"), {}).ok());
  std::set<std::string> more = tensors_;
  more.insert("C");
  EXPECT_FALSE(CalibrateActivations(*model_, /*preparation=*/{}, more, options_, *scheme_, {}).ok());
}

}  // namespace
}  // namespace pq::quant
