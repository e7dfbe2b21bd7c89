// End-to-end tests of `pq quantize --weight-algo awq` on the sample decoder
// LLM (calibrated on its token ids): the model and a report that records,
// for every 4-bit weight, the alpha chosen and where 1/s went (the RMSNorm
// weight multiplies, or an inserted Mul), rendered by `pq report`; and the
// refusals (no --calib and an int8 scheme: exit 2; data that does not fit:
// exit 3), with nothing written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pq/npy.h"
#include "pq/tensor.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitInvalidInput;
using testing::kExitUsage;
using testing::ReadFile;
using testing::RunPq;
using testing::TempDir;

std::string Llm() { return testing::ModelsDir() + "/tiny_llm/tiny_llm_optimum.onnx"; }
std::string Tokens() { return testing::ModelsDir() + "/tiny_llm/calib_tokens.npy"; }

TEST(AwqCliTest, ReportRecordsAlphaAndFoldOfEveryFourBitWeight) {
  TempDir dir;
  // --lm-head same: the lm_head is 4-bit too (int8 by default), so every weight is AWQ's.
  CliRun run = RunPq({"-q", "quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "int4-asym", "--weight-algo",
                      "awq", "--calib", Tokens(), "--lm-head", "same"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"q.onnx", "q.report.json"}));
  const nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  EXPECT_EQ(report["config"]["weight_rounding"]["algorithm"], "awq");
  int weights = 0, into_norm = 0;
  for (const nlohmann::json& t : report["tensors"]) {
    if (t["role"] != "weight") continue;
    ++weights;
    const nlohmann::json& r = t["rounding"];
    ASSERT_TRUE(r.is_object()) << t["name"];
    EXPECT_EQ(r["requested"], "awq");
    ASSERT_TRUE(r["awq"].is_object()) << t["name"];
    const double alpha = r["awq"]["alpha"].get<double>();
    EXPECT_TRUE(alpha >= 0 && alpha <= 1);
    EXPECT_EQ(r["applied"], alpha > 0 ? "awq" : "rtn");
    EXPECT_EQ(r["awq"]["folded_into"].is_null(), alpha == 0) << t["name"];
    ASSERT_TRUE(r["output_error"]["rtn"].is_number() && r["output_error"]["awq"].is_number()) << t["name"];
    if (r["awq"]["folded_into"].is_string() &&
        r["awq"]["folded_into"].get<std::string>().find("norm/Mul_1'") != std::string::npos) {
      ++into_norm;
    }
  }
  EXPECT_EQ(weights, 29);  // 7 per layer x 4 and lm_head
  EXPECT_GT(into_norm, 0);
  CliRun rendered = RunPq({"report", dir.File("q.report.json")});
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  EXPECT_NE(rendered.out.find("1/s folded into"), std::string::npos);
}

TEST(AwqCliTest, Int8AsymStaticScalesTheInt8WeightsAndCalibratesTheScaledModel) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "int8-asym",
                      "--asymmetric-weights", "--weight-algo", "awq", "--calib", Tokens(), "--validate", Tokens(),
                      "--task", "lm"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  int weights = 0, scaled = 0;
  for (const nlohmann::json& t : report["tensors"]) {
    if (t["role"] != "weight") continue;
    ++weights;
    const nlohmann::json& r = t["rounding"];
    ASSERT_TRUE(r.is_object()) << t["name"];
    EXPECT_EQ(r["requested"], "awq");
    ASSERT_TRUE(r["awq"].is_object()) << t["name"];
    ASSERT_TRUE(r["output_error"]["rtn"].is_number() && r["output_error"]["awq"].is_number()) << t["name"];
    scaled += r["applied"] == "awq";
    EXPECT_EQ(t["granularity"], "per-channel") << t["name"];
  }
  EXPECT_EQ(weights, 29);  // 7 per layer x 4 and lm_head
  EXPECT_GT(scaled, 0);
  // The activations were calibrated after the scaling: the model still predicts.
  EXPECT_LT(report["validation"]["metrics"]["lm"]["kld_mean"].get<double>(), 0.05);
}

TEST(AwqCliTest, WithoutCalibrationIsAUsageError) {
  TempDir dir;
  ExpectRefusal(RunPq({"quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "nf4", "--weight-algo", "awq"}),
                kExitUsage, "--calib");
  ExpectRefusal(RunPq({"quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "int8-sym", "--weights-only",
                       "--weight-algo", "awq"}),
                kExitUsage, "--calib");
  EXPECT_TRUE(dir.List().empty());
}

TEST(AwqCliTest, CalibrationDataThatDoesNotFitIsInvalidInputAndWritesNothing) {
  TempDir dir;
  testing::WriteFile(dir.File("wrong.npy"), EncodeNpy(Tensor::Allocate(kFloat, {4, 1, 14, 14}).value()));
  ExpectRefusal(RunPq({"quantize", Llm(), "-o", dir.File("q.onnx"), "--scheme", "nf4", "--weight-algo", "awq",
                       "--calib", dir.File("wrong.npy")}),
                kExitInvalidInput, "wrong.npy");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"wrong.npy"});
}

}  // namespace
}  // namespace pq
