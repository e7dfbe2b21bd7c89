// `pq quantize --smoothquant ALPHA` end to end on the ViT sample (pre-LN:
// q/k/v and fc1 read a LayerNormalization, fc2 a GELU's final Mul by 0.5):
// the report's config and per-weight records (alpha, fold target, max
// scale, or why not), and the refusals: ALPHA outside [0, 1], no --calib,
// --weights-only, --weight-algo awq, each exit 2 naming the flag with
// nothing written; `pq analyze` takes the flag too.
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

std::string Vit() { return testing::ModelsDir() + "/fashion_vit.onnx"; }
std::string Calib() { return testing::ModelsDir() + "/calib_images.npy"; }

TEST(SmoothQuantCliTest, ReportRecordsEveryMatMulWeight) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Vit(), "-o", dir.File("q.onnx"), "--scheme", "int8-sym", "--calib", Calib(),
                      "--smoothquant", "0.75"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  EXPECT_EQ(report["config"]["smoothquant"]["alpha"], 0.75);
  int recorded = 0, into_norm = 0, applied = 0;
  for (const nlohmann::json& t : report["tensors"]) {
    if (!t.contains("smoothquant")) continue;
    ++recorded;
    const nlohmann::json& q = t["smoothquant"];
    EXPECT_EQ(q["alpha"], 0.75);
    EXPECT_EQ(q["applied"].get<bool>(), q["folded_into"].is_string()) << t["name"];
    EXPECT_EQ(q["applied"].get<bool>(), q["not_applied"].is_null()) << t["name"];
    if (!q["applied"].get<bool>()) continue;
    ++applied;
    EXPECT_GT(q["scale_max"].get<double>(), 1.0) << t["name"];
    into_norm += q["folded_into"].get<std::string>().rfind("LayerNormalization", 0) == 0;
  }
  EXPECT_EQ(recorded, 13);  // 6 MatMuls per block x 2 and the head
  EXPECT_EQ(applied, 10);   // all but the two attention outputs and the head
  EXPECT_EQ(into_norm, 8);  // q, k, v and fc1 of each block
}

TEST(SmoothQuantCliTest, WithoutTheFlagTheReportHasNoSmoothQuant) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Vit(), "-o", dir.File("q.onnx"), "--scheme", "int8-sym", "--calib", Calib()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string text = ReadFile(dir.File("q.report.json"));
  EXPECT_EQ(text.find("smoothquant"), std::string::npos);
}

TEST(SmoothQuantCliTest, BadInputsExitTwoNamingTheFlagAndWriteNothing) {
  TempDir dir;
  const std::string out = dir.File("q.onnx");
  for (const char* alpha : {"1.5", "-0.25"}) {
    ExpectRefusal(RunPq({"quantize", Vit(), "-o", out, "--calib", Calib(), "--smoothquant", alpha}), kExitUsage,
                  "--smoothquant");
  }
  ExpectRefusal(RunPq({"quantize", Vit(), "-o", out, "--smoothquant", "0.5"}), kExitUsage, "--smoothquant");
  ExpectRefusal(RunPq({"quantize", Vit(), "-o", out, "--weights-only", "--calib", Calib(), "--smoothquant", "0.5"}),
                kExitUsage, "--smoothquant");
  ExpectRefusal(RunPq({"quantize", Vit(), "-o", out, "--scheme", "int8-sym", "--calib", Calib(), "--weight-algo",
                       "awq", "--smoothquant", "0.5"}),
                kExitUsage, "--smoothquant");
  ExpectRefusal(RunPq({"-q", "analyze", Vit(), "--data", Calib(), "--calib", Calib(), "--smoothquant", "2"}),
                kExitUsage, "--smoothquant");
  EXPECT_TRUE(dir.List().empty());
}

}  // namespace
}  // namespace pq
