#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pq/calibration.h"
#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

constexpr int64_t kCalibSamples = 256;  // models/calib_images.npy
constexpr int64_t kPixels = 28 * 28;
constexpr int64_t kClasses = 10;

// What a quantizer would put QDQ on in fashion_cnn: the inputs of its Conv
// and Gemm nodes and the graph output.
const std::set<std::string> kCnnTensors = {"input", "/MaxPool_output_0", "/Flatten_output_0",
                                           "/Relu_2_output_0", "logits"};

class CalibCalibrate : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = std::move(model).value();
    auto executor = Executor::Create(*model_);
    ASSERT_TRUE(executor.ok()) << executor.status().ToString();
    executor_ = std::move(executor).value();
    auto data = Dataset::Open({testing::ModelsDir() + "/calib_images.npy"}, executor_->inputs());
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    data_ = std::move(data).value();
  }

  std::unique_ptr<Model> model_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Dataset> data_;
};

TEST_F(CalibCalibrate, ReturnsARangeForEveryRequestedTensor) {
  CalibrationOptions options;
  options.method = "entropy";
  std::vector<int64_t> done;
  auto result = Calibrate(*executor_, *data_, kCnnTensors, options, 16, 0,
                          [&](int64_t d, int64_t total) {
                            EXPECT_EQ(total, kCalibSamples);
                            done.push_back(d);
                          });
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->samples_used, kCalibSamples);
  EXPECT_EQ(result->batch, 16);
  ASSERT_EQ(done.size(), 16u);
  EXPECT_EQ(done.back(), kCalibSamples);
  ASSERT_EQ(result->ranges.size(), kCnnTensors.size());
  for (const auto& [name, range] : result->ranges) {
    EXPECT_EQ(kCnnTensors.count(name), 1u) << name;
    EXPECT_EQ(range.method, "entropy");
    EXPECT_LE(range.chosen_min, 0.0f) << name;
    EXPECT_GT(range.chosen_max, 0.0f) << name;
    EXPECT_EQ(range.chosen_min, -range.chosen_max) << name;
    EXPECT_LE(range.chosen_max, std::max(-range.observed_min, range.observed_max)) << name;
  }
  EXPECT_EQ(result->ranges.at("input").values_seen, kCalibSamples * kPixels);
  EXPECT_EQ(result->ranges.at("logits").values_seen, kCalibSamples * kClasses);
  // After a ReLU nothing is negative.
  EXPECT_EQ(result->ranges.at("/Relu_2_output_0").observed_min, 0.0f);
}

TEST_F(CalibCalibrate, MinMaxOfTheInputIsTheDataRangeAndCapIsHonoured) {
  auto feeds = data_->Batch(0, 32);
  ASSERT_TRUE(feeds.ok());
  const Tensor& input = feeds->at("input");
  const float* begin = input.data<float>();
  const auto [lo, hi] = std::minmax_element(begin, begin + input.size());
  CalibrationOptions options;
  options.grid = Uint8AsymmetricGrid();
  auto result = Calibrate(*executor_, *data_, {"input", "logits"}, options, 5, 32, nullptr);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->samples_used, 32);
  const CalibratedRange& range = result->ranges.at("input");
  EXPECT_EQ(range.values_seen, 32 * kPixels);
  EXPECT_EQ(range.observed_min, *lo);
  EXPECT_EQ(range.observed_max, *hi);
  EXPECT_EQ(range.chosen_min, std::min(*lo, 0.0f));
  EXPECT_EQ(range.chosen_max, std::max(*hi, 0.0f));
}

TEST_F(CalibCalibrate, HistogramDoesNotDependOnTheBatchSize) {
  CalibrationOptions options;
  options.method = "percentile";
  auto one = Calibrate(*executor_, *data_, {"input"}, options, 1, 64, nullptr);
  auto many = Calibrate(*executor_, *data_, {"input"}, options, 64, 64, nullptr);
  ASSERT_TRUE(one.ok() && many.ok());
  EXPECT_EQ(one->ranges.at("input").chosen_max, many->ranges.at("input").chosen_max);
  EXPECT_EQ(one->ranges.at("input").clipped_fraction, many->ranges.at("input").clipped_fraction);
}

TEST_F(CalibCalibrate, TensorNotInTheModelFailsAfterTheFirstRun) {
  int runs = 0;
  auto result = Calibrate(*executor_, *data_, {"input", "no_such_tensor"}, CalibrationOptions{}, 1,
                          0, [&](int64_t, int64_t) { ++runs; });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(runs, 0);
  EXPECT_NE(result.status().message().find("'no_such_tensor'"), std::string::npos)
      << result.status().message();
}

TEST_F(CalibCalibrate, RefusesBadArguments) {
  EXPECT_EQ(Calibrate(*executor_, *data_, {"input"}, CalibrationOptions{}, 0, 0, nullptr)
                .status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Calibrate(*executor_, *data_, {}, CalibrationOptions{}, 1, 0, nullptr).status().code(),
            Status::Code::kInvalidArgument);
  CalibrationOptions bad;
  bad.method = "median";
  auto result = Calibrate(*executor_, *data_, {"input"}, bad, 1, 0, nullptr);
  EXPECT_EQ(result.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("minmax, percentile, entropy, mse"), std::string::npos);
}

}  // namespace
}  // namespace pq
