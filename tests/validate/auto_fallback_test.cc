// Tests of src/validate/auto_fallback.cc and sensitivity.cc on the sample CNN
// with one planted sensitive layer (validate_test_util.h).
#include <gtest/gtest.h>

#include <algorithm>

#include "pq/validate.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"
#include "validate/validate_test_util.h"

namespace pq {
namespace {

using testing::TempDir;

constexpr int64_t kValidationSamples = 200;
constexpr int64_t kCalibrationSamples = 16;
// int8-sym keeps the healthy CNN's logits near 37 dB; the planted fc2
// quantized leaves little more than its bias (a few dB at most).
constexpr double kMinSqnrDb = 20.0;

class AutoFallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteValidationSubset(kValidationSamples, dir_.File("x.npy"), dir_.File("y.npy"));
    testing::SaveProto(testing::PlantedCnn(), dir_.File("planted.onnx"));
    Result<std::unique_ptr<Model>> m = Model::Load(dir_.File("planted.onnx"));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    planted_ = std::move(m).value();
    quantize_.scheme = "int8-sym";
    quantize_.calib_paths = {testing::ModelsDir() + "/calib_images.npy"};
    quantize_.calib_samples = kCalibrationSamples;
    // One thread: OpenMP barriers crawl when a shared machine is oversubscribed.
    quantize_.threads = 1;
    data_.threads = 1;
    data_.paths = {dir_.File("x.npy")};
    data_.labels_path = dir_.File("y.npy");
    data_.batch = 50;
  }

  TempDir dir_;
  std::unique_ptr<Model> planted_;
  QuantizeOptions quantize_;
  ValidationData data_;
};

TEST_F(AutoFallbackTest, ReturnsThePlantedLayerAndRecoversTheGate) {
  Gates gates;
  gates.min_sqnr_db = kMinSqnrDb;
  FallbackOptions options;
  options.nodes_per_step = 1;
  Result<FallbackResult> r = AutoFallback(*planted_, quantize_, data_, gates, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->steps.size(), 2u);
  EXPECT_FALSE(r->steps[0].passed) << MinOutputSqnr(r->steps[0].metrics);
  EXPECT_LT(MinOutputSqnr(r->steps[0].metrics), kMinSqnrDb);
  EXPECT_TRUE(r->steps[1].passed) << MinOutputSqnr(r->steps[1].metrics);
  EXPECT_EQ(r->steps[1].returned, std::vector<std::string>{testing::kPlantedNode});
  EXPECT_EQ(r->steps[1].nodes_quantized, r->steps[0].nodes_quantized - 1);
  EXPECT_TRUE(r->gates_passed);
  EXPECT_EQ(r->best_step, 1u);
  ASSERT_FALSE(r->ranking.empty());
  EXPECT_EQ(r->ranking[0].node, testing::kPlantedNode);
  // The best model really leaves the planted node FP32.
  ASSERT_NE(r->best.model, nullptr);
  EXPECT_TRUE(std::any_of(r->best.skipped.begin(), r->best.skipped.end(),
                          [](const SkippedRecord& s) { return s.node == testing::kPlantedNode; }));
  const nlohmann::ordered_json j = FallbackToJson(r.value(), gates);
  EXPECT_EQ(j["passed"], true);
  EXPECT_EQ(j["steps"][1]["returned"][0], testing::kPlantedNode);
  EXPECT_EQ(j["steps"][0]["validation"]["passed"], false);
}

TEST_F(AutoFallbackTest, StopsAtStepZeroWhenTheGatesPass) {
  Result<std::unique_ptr<Model>> healthy = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(healthy.ok());
  Gates gates;
  gates.min_sqnr_db = kMinSqnrDb;
  Result<FallbackResult> r = AutoFallback(*healthy.value(), quantize_, data_, gates);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->steps.size(), 1u);
  EXPECT_TRUE(r->gates_passed);
  EXPECT_TRUE(r->ranking.empty());
  EXPECT_EQ(r->best.nodes_quantized, 4);
}

TEST_F(AutoFallbackTest, SensitivityRanksThePlantedLayerFirst) {
  SensitivityOptions options;
  options.quantize = quantize_;
  options.target_sqnr_db = kMinSqnrDb;
  Result<SensitivityReport> r = AnalyzeSensitivity(*planted_, data_, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->nodes.size(), 4u);
  EXPECT_EQ(r->nodes[0].node, testing::kPlantedNode);
  EXPECT_LT(r->nodes[0].output_sqnr_db, kMinSqnrDb);
  EXPECT_GT(r->nodes[1].output_sqnr_db, kMinSqnrDb);
  ASSERT_TRUE(r->nodes[0].activation_sqnr_db.has_value());
  EXPECT_LT(*r->nodes[0].activation_sqnr_db, kMinSqnrDb);
  EXPECT_LT(r->all_quantized_sqnr_db, kMinSqnrDb);
  EXPECT_EQ(r->suggested_exclude, std::vector<std::string>{testing::kPlantedNode});
  EXPECT_TRUE(r->target_reached);
}

}  // namespace
}  // namespace pq
