// `pq quantize --equalize` and `--bias-correction` end to end on the sample
// CNN (Conv -> BatchNormalization -> Relu -> MaxPool -> Conv: one pair once
// BatchNormalization is folded): the report's config flags, the
// equalization record of that pair, a bias-correction record on each of the
// four weights; without the flags none of it; the refusals without
// calibration data and with a GGUF output, exit 2 naming the flag with
// nothing written, while --equalize alone needs none.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitUsage;
using testing::ReadFile;
using testing::RunPq;
using testing::TempDir;

std::string Cnn() { return testing::ModelsDir() + "/fashion_cnn.onnx"; }
std::string Calib() { return testing::ModelsDir() + "/calib_images.npy"; }

TEST(EqualizeBiasCorrectionCliTest, ReportRecordsThePairAndEveryCorrection) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Cnn(), "-o", dir.File("q.onnx"), "--scheme", "int8-asym", "--calib", Calib(),
                      "--calib-samples", "64", "--equalize", "--bias-correction"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  EXPECT_EQ(report["config"]["equalize"], true);
  EXPECT_EQ(report["config"]["bias_correction"], true);
  ASSERT_EQ(report["equalization"].size(), 1u);
  const nlohmann::json& pair = report["equalization"][0];
  EXPECT_EQ(pair["first"], "Conv '/conv1/Conv'");
  EXPECT_EQ(pair["second"], "Conv '/conv2/Conv'");
  EXPECT_EQ(pair["between"], nlohmann::json({"Relu '/Relu'", "MaxPool '/MaxPool'"}));
  EXPECT_TRUE(pair["applied"].get<bool>());
  EXPECT_EQ(pair["channels"], 32);
  bool listed = false;
  for (const auto& t : report["transformations"]) listed = listed || t.get<std::string>().rfind("equalized", 0) == 0;
  EXPECT_TRUE(listed);
  int corrected = 0;
  for (const nlohmann::json& t : report["tensors"]) {
    if (!t.contains("bias_correction")) continue;
    const nlohmann::json& b = t["bias_correction"];
    EXPECT_TRUE(b["applied"].get<bool>()) << t["name"] << " " << b["not_applied"];
    EXPECT_GT(b["max_abs"].get<double>(), 0.0) << t["name"];
    corrected += b["applied"].get<bool>();
  }
  EXPECT_EQ(corrected, 4);  // two Convs, two Gemms
}

TEST(EqualizeBiasCorrectionCliTest, WithoutTheFlagsTheReportHasNeither) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Cnn(), "-o", dir.File("q.onnx"), "--scheme", "int8-sym", "--calib", Calib(),
                      "--calib-samples", "16"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string text = ReadFile(dir.File("q.report.json"));
  EXPECT_EQ(text.find("equaliz"), std::string::npos);
  EXPECT_EQ(text.find("bias_correction"), std::string::npos);
}

TEST(EqualizeBiasCorrectionCliTest, BiasCorrectionWithoutDataExitsTwoAndWritesNothing) {
  TempDir dir;
  const std::string out = dir.File("q.onnx");
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", out, "--weights-only", "--bias-correction"}), kExitUsage,
                "--bias-correction");
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", out, "--scheme", "int8-dynamic", "--bias-correction"}), kExitUsage,
                "--bias-correction");
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", out, "--weights-only", "--equalize", "--bias-correction"}),
                kExitUsage, "--bias-correction");
  EXPECT_TRUE(dir.List().empty());
}

TEST(EqualizeBiasCorrectionCliTest, AGgufExportRefusesBothFlags) {
  TempDir dir;
  for (const char* flag : {"--equalize", "--bias-correction"}) {
    ExpectRefusal(RunPq({"quantize", Cnn(), "-o", dir.File("q.gguf"), "--scheme", "gguf-q8_0", flag}), kExitUsage,
                  flag);
  }
  EXPECT_TRUE(dir.List().empty());
}

TEST(EqualizeBiasCorrectionCliTest, EqualizeAloneNeedsNoData) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Cnn(), "-o", dir.File("q.onnx"), "--weights-only", "--equalize"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  ASSERT_EQ(report["equalization"].size(), 1u);
  EXPECT_TRUE(report["equalization"][0]["applied"].get<bool>());
}

}  // namespace
}  // namespace pq
