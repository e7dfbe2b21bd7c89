// `pq quantize --validate`: the comparison lands in the report, a failed
// gate exits 4 with the model and report still written, and --auto-fallback
// returns the planted sensitive layer to FP32.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testutil/model_builder.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"
#include "validate/validate_test_util.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitGateFailed;
using testing::kExitInvalidInput;
using testing::kExitOk;
using testing::kExitOutput;
using testing::kExitUsage;
using testing::ReadFile;
using testing::RunPq;
using testing::TempDir;

constexpr int kValidationSamples = 200;

class QuantizeValidateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteValidationSubset(kValidationSamples, dir_.File("images.npy"), dir_.File("labels.npy"));
    testing::SaveProto(testing::PlantedCnn(), dir_.File("planted.onnx"));
  }
  std::vector<std::string> Base(const std::string& model, const std::string& out) {
    return {"-q", "quantize", model, "-o", dir_.File(out), "--scheme", "int8-sym", "--calib",
            testing::ModelsDir() + "/calib_images.npy", "--calib-samples", "32", "--validate",
            dir_.File("images.npy"), "--labels", dir_.File("labels.npy"), "--validate-batch", "50",
            "--threads", "1"};
  }
  nlohmann::json Report(const std::string& name) {
    return nlohmann::json::parse(ReadFile(dir_.File(name)));
  }
  TempDir dir_;
};

TEST_F(QuantizeValidateCliTest, PassingGatesAreRecordedInTheReport) {
  std::vector<std::string> args = Base(testing::ModelsDir() + "/fashion_cnn.onnx", "q.onnx");
  for (const char* a : {"--min-sqnr", "20", "--max-accuracy-drop", "2"}) args.push_back(a);
  CliRun run = RunPq(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json v = Report("q.report.json")["validation"];
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v["passed"], true);
  EXPECT_EQ(v["metrics"]["samples"], kValidationSamples);
  EXPECT_GT(v["metrics"]["outputs"][0]["sqnr_db"].get<double>(), 20.0);
}

TEST_F(QuantizeValidateCliTest, FailingGateExitsFourAndStillWritesModelAndReport) {
  std::vector<std::string> args = Base(dir_.File("planted.onnx"), "q.onnx");
  for (const char* a : {"--min-sqnr", "20"}) args.push_back(a);
  CliRun run = RunPq(args);
  EXPECT_EQ(run.exit_code, kExitGateFailed) << run.err;
  EXPECT_NE(run.err.find("gate min-sqnr failed"), std::string::npos) << run.err;
  EXPECT_TRUE(testing::Exists(dir_.File("q.onnx")));
  nlohmann::json v = Report("q.report.json")["validation"];
  EXPECT_EQ(v["passed"], false);
}

TEST_F(QuantizeValidateCliTest, AutoFallbackReturnsThePlantedLayer) {
  std::vector<std::string> args = Base(dir_.File("planted.onnx"), "q.onnx");
  for (const char* a : {"--min-sqnr", "20", "--auto-fallback"}) args.push_back(a);
  CliRun run = RunPq(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json report = Report("q.report.json");
  nlohmann::json v = report["validation"];
  EXPECT_EQ(v["passed"], true);
  ASSERT_GE(v["steps"].size(), 2u);
  bool returned_fc2 = false;
  for (const auto& step : v["steps"]) {
    for (const auto& node : step["returned"]) returned_fc2 |= node == "/fc2/Gemm";
  }
  EXPECT_TRUE(returned_fc2) << v.dump();
  bool fc2_skipped = false;
  for (const auto& s : report["skipped"]) fc2_skipped |= s["node"] == "/fc2/Gemm";
  EXPECT_TRUE(fc2_skipped) << "the returned node must be listed as skipped";
}

TEST_F(QuantizeValidateCliTest, GatesWithoutValidateAreAUsageError) {
  CliRun run = RunPq({"quantize", testing::ModelsDir() + "/fashion_cnn.onnx", "-o", dir_.File("q.onnx"),
                      "--weights-only", "--min-sqnr", "20"});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_NE(run.err.find("--validate"), std::string::npos);
  EXPECT_FALSE(testing::Exists(dir_.File("q.onnx")));
}

}  // namespace
}  // namespace pq
