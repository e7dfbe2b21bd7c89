// End-to-end tests of `pq quantize --weight-algo gptq` on the sample
// transformer: the model and a report that records the rounding of every
// 4-bit weight, the same bytes for any --threads, int8-sym on the sample
// decoder LLM (per-channel, zero point 0, GPTQ's layer errors below
// round-to-nearest's), and the refusals (no --calib: exit 2; data that does
// not fit: exit 3), with nothing written.
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

// Calibration samples: enough for X^T X of the 128- and 512-wide inputs to
// be well conditioned, few enough to stay quick.
constexpr const char* kSamples = "64";

std::string Vit() { return testing::ModelsDir() + "/fashion_vit.onnx"; }
std::string Calib() { return testing::ModelsDir() + "/calib_images.npy"; }

std::vector<std::string> GptqArgs(const std::string& out, const std::string& scheme) {
  return {"-q", "quantize", Vit(), "-o", out, "--scheme", scheme, "--weight-algo", "gptq",
          "--calib", Calib(), "--calib-samples", kSamples};
}

TEST(GptqCliTest, ReportRecordsTheRoundingOfEveryFourBitWeight) {
  for (const char* scheme : {"nf4", "int4-sym"}) {
    SCOPED_TRACE(scheme);
    TempDir dir;
    CliRun run = RunPq(GptqArgs(dir.File("q.onnx"), scheme));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(dir.List(), (std::vector<std::string>{"q.onnx", "q.report.json"}));
    const nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
    EXPECT_EQ(report["config"]["weight_rounding"]["algorithm"], "gptq");
    EXPECT_EQ(report["config"]["weight_rounding"]["damp"], 0.01);
    EXPECT_EQ(report["config"]["weight_rounding"]["act_order"], false);
    EXPECT_EQ(report["calibration"]["samples_used"], 64);
    int weights = 0, by_gptq = 0;
    for (const nlohmann::json& t : report["tensors"]) {
      if (t["role"] != "weight") continue;
      ++weights;
      const nlohmann::json& r = t["rounding"];
      ASSERT_TRUE(r.is_object()) << t["name"];
      EXPECT_EQ(r["requested"], "gptq");
      ASSERT_TRUE(r["output_error"]["rtn"].is_number()) << t["name"];
      ASSERT_TRUE(r["output_error"]["gptq"].is_number()) << t["name"];
      if (r["applied"] == "gptq") {
        ++by_gptq;
        EXPECT_TRUE(r["fallback"].is_null());
        EXPECT_LE(r["output_error"]["gptq"].get<double>(), r["output_error"]["rtn"].get<double>());
      } else {
        EXPECT_TRUE(r["fallback"].is_string());
      }
      EXPECT_GT(r["hessian"]["rows"].get<int64_t>(), 0);
    }
    EXPECT_EQ(weights, 13);  // q, k, v, proj, fc1, fc2 of two blocks and the head's Gemm
    EXPECT_GT(by_gptq, weights / 2);
    // pq report renders the rounding of every weight.
    CliRun rendered = RunPq({"report", dir.File("q.report.json")});
    ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
    EXPECT_NE(rendered.out.find("Weight rounding"), std::string::npos);
    EXPECT_NE(rendered.out.find("error gptq"), std::string::npos);
  }
}

TEST(GptqCliTest, SameBytesForEveryThreadCount) {
  TempDir one, two;
  std::vector<std::string> a = GptqArgs(one.File("q.onnx"), "int4-asym");
  std::vector<std::string> b = GptqArgs(two.File("q.onnx"), "int4-asym");
  a.insert(a.end(), {"--threads", "1", "--gptq-act-order"});
  b.insert(b.end(), {"--threads", "2", "--gptq-act-order"});
  ASSERT_EQ(RunPq(a).exit_code, 0);
  ASSERT_EQ(RunPq(b).exit_code, 0);
  EXPECT_EQ(ReadFile(one.File("q.onnx")), ReadFile(two.File("q.onnx")));
  const nlohmann::json ra = nlohmann::json::parse(ReadFile(one.File("q.report.json")));
  const nlohmann::json rb = nlohmann::json::parse(ReadFile(two.File("q.report.json")));
  EXPECT_EQ(ra["tensors"], rb["tensors"]);
  EXPECT_EQ(ra["tensors"][0]["rounding"]["act_order"], true);
}

TEST(GptqCliTest, Int8SymOnTheSampleLlmRoundsEveryMatMulWeightPerChannel) {
  TempDir dir;
  const std::string llm = testing::ModelsDir() + "/tiny_llm/tiny_llm_optimum.onnx";
  const std::string tokens = testing::ModelsDir() + "/tiny_llm/calib_tokens.npy";
  CliRun run = RunPq({"-q", "quantize", llm, "-o", dir.File("q.onnx"), "--scheme", "int8-sym", "--weight-algo",
                      "gptq", "--calib", tokens});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"q.onnx", "q.report.json"}));
  const nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  EXPECT_EQ(report["config"]["weight_rounding"]["algorithm"], "gptq");
  int weights = 0, gptq = 0;
  for (const nlohmann::json& t : report["tensors"]) {
    if (t["role"] != "weight") continue;
    ++weights;
    EXPECT_EQ(t["granularity"], "per-channel") << t["name"];
    const nlohmann::json& zps = t["zero_point"];  // the values, or a digest of a long list
    if (zps.is_array()) {
      for (const nlohmann::json& zp : zps) EXPECT_EQ(zp, 0) << t["name"];
    } else {
      EXPECT_TRUE(zps["min"] == 0 && zps["max"] == 0) << t["name"];
    }
    const nlohmann::json& r = t["rounding"];
    ASSERT_TRUE(r.is_object()) << t["name"];
    EXPECT_EQ(r["requested"], "gptq");
    ASSERT_TRUE(r["output_error"]["rtn"].is_number() && r["output_error"]["gptq"].is_number()) << t["name"];
    if (r["applied"] == "gptq") {
      ++gptq;
      EXPECT_LE(r["output_error"]["gptq"].get<double>(), r["output_error"]["rtn"].get<double>()) << t["name"];
    }
  }
  EXPECT_EQ(weights, 29);  // 7 per layer x 4 and lm_head
  EXPECT_GT(gptq, weights / 2);
}

TEST(GptqCliTest, WithoutCalibrationIsAUsageError) {
  TempDir dir;
  ExpectRefusal(RunPq({"quantize", Vit(), "-o", dir.File("q.onnx"), "--scheme", "nf4", "--weight-algo", "gptq"}),
                kExitUsage, "--calib");
  for (const char* algo : {"gptq", "awq"}) {
    ExpectRefusal(RunPq({"quantize", Vit(), "-o", dir.File("q.onnx"), "--scheme", "int8-sym", "--weights-only",
                         "--weight-algo", algo}),
                  kExitUsage, "--calib");
  }
  ExpectRefusal(RunPq({"quantize", Vit(), "-o", dir.File("q.onnx"), "--scheme", "nf4", "--weight-algo", "gptq",
                       "--calib", Calib(), "--gptq-damp", "-1"}),
                kExitUsage, "--gptq-damp");
  EXPECT_TRUE(dir.List().empty());
}

TEST(GptqCliTest, CalibrationDataThatDoesNotFitIsInvalidInputAndWritesNothing) {
  TempDir dir;
  testing::WriteFile(dir.File("wrong.npy"), EncodeNpy(Tensor::Allocate(kFloat, {4, 1, 14, 14}).value()));
  ExpectRefusal(RunPq({"quantize", Vit(), "-o", dir.File("q.onnx"), "--scheme", "nf4", "--weight-algo", "gptq",
                       "--calib", dir.File("wrong.npy")}),
                kExitInvalidInput, "wrong.npy");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"wrong.npy"});
}

}  // namespace
}  // namespace pq
