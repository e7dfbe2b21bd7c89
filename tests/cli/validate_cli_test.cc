// End-to-end tests of `pq compare` and `pq analyze`: gates map to exit 4 with
// one stderr line per failed gate, bad inputs to exit 3, JSON for CI.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "onnx/onnx_pb.h"
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
using testing::RunPq;
using testing::TempDir;

constexpr int64_t kValidationSamples = 200;
constexpr float kScaleDamage = 8.0f;
// Gates a healthy int8-sym CNN passes and the damaged one fails.
constexpr const char* kMinSqnr = "20";
constexpr const char* kMaxAccuracyDrop = "2";

// Writes the first kValidationSamples validation images/labels and an
// int8-sym quantization of the sample CNN (16 calibration samples).
void PrepareQuantizedCnn(const TempDir& dir) {
  testing::WriteValidationSubset(kValidationSamples, dir.File("x.npy"), dir.File("y.npy"));
  CliRun q = RunPq({"-q", "quantize", testing::ModelsDir() + "/fashion_cnn.onnx", "-o",
                    dir.File("q.onnx"), "--scheme", "int8-sym", "--calib",
                    testing::ModelsDir() + "/calib_images.npy", "--calib-samples", "16", "--threads", "1"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
}

// Multiplies every QuantizeLinear/DequantizeLinear scale initializer by 8.
void WriteDamaged(const std::string& from, const std::string& to) {
  onnx::ModelProto model = testing::LoadProto(from);
  std::set<std::string> scales;
  for (const auto& node : model.graph().node()) {
    if (node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear") {
      scales.insert(node.input(1));
    }
  }
  ASSERT_FALSE(scales.empty());
  int damaged = 0;
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    if (scales.count(t.name()) == 0) continue;
    std::vector<float> v = testing::InitializerFloats(t);
    for (float& s : v) s *= kScaleDamage;
    testing::SetInitializerFloats(&t, v);
    ++damaged;
  }
  ASSERT_EQ(damaged, static_cast<int>(scales.size()));
  testing::SaveProto(model, to);
}

std::vector<std::string> CompareArgs(const TempDir& dir, const std::string& candidate) {
  return {"compare", testing::ModelsDir() + "/fashion_cnn.onnx", candidate, "--data",
          dir.File("x.npy"), "--labels", dir.File("y.npy"), "--batch", "50", "--min-sqnr",
          kMinSqnr, "--max-accuracy-drop", kMaxAccuracyDrop, "--threads", "1"};
}

TEST(CompareCliTest, IdenticalModelsPassWithInfiniteSqnrInJson) {
  TempDir dir;
  testing::SaveProto(testing::ThreeClassModel({1, 0, 0, 0, 1, 0, 0, 0, 1}), dir.File("m.onnx"));
  testing::WriteFloatNpy(dir.File("x.npy"), {4, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0, 0});
  CliRun run = RunPq({"compare", dir.File("m.onnx"), dir.File("m.onnx"), "--data", dir.File("x.npy"),
                      "--min-sqnr", "100", "--min-cosine", "1", "--max-flip-rate", "0",
                      "--max-class-flip-rate", "0", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  nlohmann::json doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["metrics"]["outputs"][0]["sqnr_db"], "+inf");
  EXPECT_EQ(doc["gates"]["results"].size(), 4u);
  EXPECT_EQ(doc["passed"], true);
  CliRun text = RunPq({"compare", dir.File("m.onnx"), dir.File("m.onnx"), "--data", dir.File("x.npy")});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("+inf"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("nan"), std::string::npos) << text.out;
}

TEST(CompareCliTest, DamagedScalesFailSqnrAndAccuracyGatesWithExitFour) {
  TempDir dir;
  PrepareQuantizedCnn(dir);
  WriteDamaged(dir.File("q.onnx"), dir.File("damaged.onnx"));

  CliRun healthy = RunPq(CompareArgs(dir, dir.File("q.onnx")));
  EXPECT_EQ(healthy.exit_code, 0) << healthy.err << healthy.out;

  CliRun damaged = RunPq(CompareArgs(dir, dir.File("damaged.onnx")));
  EXPECT_EQ(damaged.exit_code, kExitGateFailed) << damaged.err << damaged.out;
  EXPECT_EQ(testing::CountLines(damaged.err), 2) << damaged.err;
  EXPECT_NE(damaged.err.find("gate min-sqnr failed"), std::string::npos) << damaged.err;
  EXPECT_NE(damaged.err.find("gate max-accuracy-drop failed"), std::string::npos) << damaged.err;
  EXPECT_NE(damaged.err.find("bound >= 20 dB"), std::string::npos) << damaged.err;
  EXPECT_NE(damaged.err.find("measured"), std::string::npos) << damaged.err;
  EXPECT_NE(damaged.out.find("gates:"), std::string::npos);  // the table still prints

  std::vector<std::string> json_args = CompareArgs(dir, dir.File("damaged.onnx"));
  json_args.push_back("--json");
  CliRun json = RunPq(json_args);
  EXPECT_EQ(json.exit_code, kExitGateFailed);
  nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["passed"], false);
  EXPECT_GT(doc["metrics"]["size"]["reference_bytes"].get<int64_t>(),
            doc["metrics"]["size"]["candidate_bytes"].get<int64_t>());
}

// The brief's KPIs on pq's executor: both models' time per sample and
// samples per second (median of --timing-runs), accuracy per ms with labels,
// the cost of 1,000 requests from --cost-per-hour; --timing-runs 0 measures
// nothing, and quantize --validate times only when asked (its report must
// stay byte-identical).
TEST(CompareCliTest, SpeedFiguresAccuracyPerMsAndCostPerThousandRequests) {
  TempDir dir;
  PrepareQuantizedCnn(dir);
  std::vector<std::string> args = CompareArgs(dir, dir.File("q.onnx"));
  args.insert(args.end(), {"--json", "--timing-runs", "3", "--cost-per-hour", "3.6"});
  CliRun run = RunPq(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  const nlohmann::json& speed = doc["metrics"]["speed"];
  ASSERT_TRUE(speed.is_object()) << run.out;
  for (const char* which : {"reference", "candidate"}) {
    const nlohmann::json& t = speed[which];
    const double ms = t["ms_per_sample"].get<double>();
    EXPECT_GT(ms, 0.0) << which;
    EXPECT_NEAR(t["samples_per_second"].get<double>(), 1000.0 / ms, 1e-6 * 1000.0 / ms) << which;
    EXPECT_EQ(t["runs"], 3);
    EXPECT_EQ(t["threads"], 1);
    EXPECT_EQ(t["batch"], 50);
    EXPECT_EQ(t["quality"], "accuracy");
    const std::string side = which == std::string("reference") ? "reference" : "candidate";
    const double accuracy = doc["metrics"]["outputs"][0]["classification"]["accuracy"][side].get<double>();
    EXPECT_NEAR(t["quality_per_ms"].get<double>(), accuracy / ms, 1e-9 * accuracy / ms) << which;
    // 3.6 per hour is 0.001 per second: 1,000 requests of `ms` cost `ms` / 1000.
    EXPECT_NEAR(t["cost_per_1000"].get<double>(), ms / 1000.0, 1e-12) << which;
  }
  args = CompareArgs(dir, dir.File("q.onnx"));
  args.insert(args.end(), {"--json", "--timing-runs", "0"});
  run = RunPq(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(nlohmann::json::parse(run.out)["metrics"]["speed"].is_null());

  CliRun q = RunPq({"-q", "quantize", testing::ModelsDir() + "/fashion_cnn.onnx", "-o", dir.File("v.onnx"),
                    "--scheme", "int8-sym", "--calib", testing::ModelsDir() + "/calib_images.npy", "--calib-samples",
                    "16", "--validate", dir.File("x.npy"), "--threads", "1"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const nlohmann::json report = nlohmann::json::parse(testing::ReadFile(dir.File("v.report.json")));
  EXPECT_TRUE(report["validation"]["metrics"]["speed"].is_null());
  q = RunPq({"-q", "quantize", testing::ModelsDir() + "/fashion_cnn.onnx", "-o", dir.File("t.onnx"), "--scheme",
             "int8-sym", "--calib", testing::ModelsDir() + "/calib_images.npy", "--calib-samples", "16", "--validate",
             dir.File("x.npy"), "--labels", dir.File("y.npy"), "--timing-runs", "2", "--threads", "1"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const nlohmann::json timed = nlohmann::json::parse(testing::ReadFile(dir.File("t.report.json")));
  EXPECT_EQ(timed["validation"]["metrics"]["speed"]["candidate"]["runs"], 2);
  const CliRun md = RunPq({"report", dir.File("t.report.json")});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("Speed on pq's executor"), std::string::npos);
}

TEST(CompareCliTest, BadInputsExitThreeAndBadFlagsExitTwo) {
  TempDir dir;
  testing::SaveProto(testing::ThreeClassModel({1, 0, 0, 0, 1, 0, 0, 0, 1}), dir.File("m.onnx"));
  testing::WriteFloatNpy(dir.File("x.npy"), {2, 3}, {1, 0, 0, 0, 1, 0});
  testing::WriteLabelsNpy(dir.File("three.npy"), {0, 1, 2});
  testing::WriteFloatNpy(dir.File("wide.npy"), {2, 4}, {1, 0, 0, 0, 0, 1, 0, 0});
  auto expect_refusal = [](const CliRun& run, int code, const std::string& fragment) {
    EXPECT_EQ(run.exit_code, code) << run.err;
    EXPECT_EQ(testing::CountLines(run.err), 1) << run.err;
    EXPECT_NE(run.err.find(fragment), std::string::npos) << run.err;
  };
  const std::string m = dir.File("m.onnx");
  expect_refusal(RunPq({"compare", m, m, "--data", dir.File("x.npy"), "--labels", dir.File("three.npy")}),
                 kExitInvalidInput, "three.npy");
  expect_refusal(RunPq({"compare", m, m, "--data", dir.File("missing.npy")}), kExitInvalidInput,
                 "missing.npy");
  expect_refusal(RunPq({"compare", m, m, "--data", dir.File("wide.npy")}), kExitInvalidInput,
                 "wide.npy");
  expect_refusal(RunPq({"compare", m, dir.File("nope.onnx"), "--data", dir.File("x.npy")}),
                 kExitInvalidInput, "nope.onnx");
  expect_refusal(RunPq({"compare", m, m, "--data", dir.File("x.npy"), "--max-accuracy-drop", "1"}),
                 kExitUsage, "--labels");
  expect_refusal(RunPq({"compare", m, m, "--data", dir.File("x.npy"), "--task", "other",
                        "--max-flip-rate", "0.1"}),
                 kExitUsage, "classification");
  expect_refusal(RunPq({"compare", m, m, "--data", dir.File("x.npy"), "--max-flip-rate", "2"}),
                 kExitUsage, "--max-flip-rate");
}

TEST(AnalyzeCliTest, RanksThePlantedLayerFirstAndSuggestsExcludingIt) {
  TempDir dir;
  testing::WriteValidationSubset(kValidationSamples, dir.File("x.npy"), dir.File("y.npy"));
  testing::SaveProto(testing::PlantedCnn(), dir.File("planted.onnx"));
  CliRun run = RunPq({"analyze", dir.File("planted.onnx"), "--scheme", "int8-sym", "--calib",
                      testing::ModelsDir() + "/calib_images.npy", "--calib-samples", "16", "--data",
                      dir.File("x.npy"), "--batch", "50", "--min-sqnr", kMinSqnr, "--threads", "1", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json doc = nlohmann::json::parse(run.out);
  ASSERT_EQ(doc["nodes"].size(), 4u);
  EXPECT_EQ(doc["nodes"][0]["node"], testing::kPlantedNode);
  EXPECT_EQ(doc["suggestion"]["exclude_nodes"], nlohmann::json::array({testing::kPlantedNode}));
  EXPECT_EQ(doc["suggestion"]["target_reached"], true);
  // Off a terminal, progress goes to stderr as log lines.
  EXPECT_NE(run.err.find("nodes: 4/4"), std::string::npos) << run.err;

  CliRun text = RunPq({"-q", "analyze", dir.File("planted.onnx"), "--scheme", "int8-sym",
                       "--weights-only", "--data", dir.File("x.npy"), "--batch", "50", "--min-sqnr",
                       kMinSqnr, "--threads", "1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(std::string("1    ") + testing::kPlantedNode), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(std::string("suggested: --exclude-nodes ") + testing::kPlantedNode),
            std::string::npos)
      << text.out;
}

}  // namespace
}  // namespace pq
