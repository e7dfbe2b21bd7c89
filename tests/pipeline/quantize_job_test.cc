// Direct tests of src/pipeline/quantize_job.cc: RunQuantizeJob writes the
// model and its report (default path beside the model), its counts are the
// report's; it refuses outputs that would replace the input or an existing
// file, and usage errors, before writing anything; it removes the model again
// when the report cannot be written; a failed gate still writes both files.
#include "pq/quantize_job.h"

#include <gtest/gtest.h>

#include "quant/stage_fixtures.h"

namespace pq {
namespace {

using testing::Exists;
using testing::Mentions;
using Json = nlohmann::ordered_json;

// A job quantizing ConvMlpProto's weights from IN to OUT in `dir`.
class QuantizeJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::SaveProto(testing::ConvMlpProto(), dir_.File("in.onnx"));
    input_bytes_ = testing::ReadFile(dir_.File("in.onnx"));
    job_.model_path = dir_.File("in.onnx");
    job_.output_path = dir_.File("out.onnx");
    job_.quantize.weights_only = true;
  }
  // Adds validation data (4 samples) to the job.
  void Validate() {
    testing::WriteConvMlpCalibration(dir_.File("val.npy"), 4, 1.0f, 0.0f);
    job_.validation.paths = {dir_.File("val.npy")};
  }
  // Expects `code` and that the folder holds only what it held before.
  void ExpectRefusedUntouched(Status::Code code) {
    const std::vector<std::string> before = dir_.List();
    Result<QuantizeJobResult> r = RunQuantizeJob(job_, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_EQ(dir_.List(), before) << r.status().ToString();
    EXPECT_EQ(testing::ReadFile(dir_.File("in.onnx")), input_bytes_);
  }

  testing::TempDir dir_;
  std::string input_bytes_;
  QuantizeJob job_;
};

TEST(QuantizeJobPathsTest, DefaultReportPathReplacesTheOnnxSuffix) {
  EXPECT_EQ(DefaultReportPath("a/m.onnx"), "a/m.report.json");
  EXPECT_EQ(DefaultReportPath("m"), "m.report.json");
  EXPECT_EQ(DefaultReportPath("m.onnx.bak"), "m.onnx.bak.report.json");
  EXPECT_EQ(DefaultReportPath(".onnx"), ".onnx.report.json");
}

TEST(QuantizeJobPathsTest, SplitNameListDropsSpacesAndEmptyItems) {
  EXPECT_EQ(SplitNameList(" Conv, ,MatMul "), (std::vector<std::string>{"Conv", "MatMul"}));
  EXPECT_EQ(SplitNameList(""), std::vector<std::string>{});
  EXPECT_EQ(SplitNameList("a,,b,"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(QuantizeJobTest, WritesModelAndReportWhoseSummaryMatchesTheResult) {
  Result<QuantizeJobResult> r = RunQuantizeJob(job_, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->report_path, dir_.File("out.report.json"));
  EXPECT_EQ(r->saved.model_path, dir_.File("out.onnx"));
  ASSERT_TRUE(Exists(dir_.File("out.onnx")));
  ASSERT_TRUE(Exists(r->report_path));
  EXPECT_EQ(Json::parse(testing::ReadFile(r->report_path)), r->report);
  const Json& summary = r->report["summary"];
  EXPECT_EQ(summary["nodes_quantized"], r->nodes_quantized);
  const Json& t = summary["tensors_quantized"];
  EXPECT_EQ(t["weights"].get<int64_t>() + t["biases"].get<int64_t>() + t["activations"].get<int64_t>(),
            r->tensors_quantized);
  EXPECT_EQ(summary["skipped"], r->skipped);
  EXPECT_EQ(r->tensors_quantized, 3);  // Wc, Wm, Wg
  EXPECT_TRUE(r->gates.empty());
  EXPECT_TRUE(r->gates_passed);
  EXPECT_EQ(testing::ReadFile(dir_.File("in.onnx")), input_bytes_);
}

TEST_F(QuantizeJobTest, ExplicitReportPathIsUsed) {
  job_.report_path = dir_.File("r.json");
  Result<QuantizeJobResult> r = RunQuantizeJob(job_, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Exists(dir_.File("r.json")));
  EXPECT_FALSE(Exists(dir_.File("out.report.json")));
}

TEST_F(QuantizeJobTest, RefusesToOverwriteTheInputEvenWithForce) {
  job_.output_path = job_.model_path;
  job_.force = true;
  ExpectRefusedUntouched(Status::Code::kOutputError);
}

// The report written over the model would lose the model: refused before
// anything is written, with or without force.
TEST_F(QuantizeJobTest, RefusesAReportPathEqualToTheOutput) {
  job_.report_path = job_.output_path;
  ExpectRefusedUntouched(Status::Code::kOutputError);
  job_.force = true;
  ExpectRefusedUntouched(Status::Code::kOutputError);
}

TEST_F(QuantizeJobTest, RefusesAnExistingOutputOrReportWithoutForce) {
  testing::WriteFile(dir_.File("out.onnx"), "old");
  ExpectRefusedUntouched(Status::Code::kOutputError);
  EXPECT_EQ(testing::ReadFile(dir_.File("out.onnx")), "old");
  std::remove(dir_.File("out.onnx").c_str());
  testing::WriteFile(dir_.File("out.report.json"), "old");
  ExpectRefusedUntouched(Status::Code::kOutputError);
  job_.force = true;
  ASSERT_TRUE(RunQuantizeJob(job_, {}).ok());
  EXPECT_NE(testing::ReadFile(dir_.File("out.report.json")), "old");
}

TEST_F(QuantizeJobTest, UsageErrorsComeBeforeAnythingIsWritten) {
  job_.gates.min_sqnr_db = 10;  // a gate without validation data
  ExpectRefusedUntouched(Status::Code::kInvalidArgument);
  job_.gates = {};
  job_.auto_fallback = true;  // without validation data
  ExpectRefusedUntouched(Status::Code::kInvalidArgument);
  Validate();
  ExpectRefusedUntouched(Status::Code::kInvalidArgument);  // auto-fallback without a gate
  job_.auto_fallback = false;
  job_.gates.max_accuracy_drop_points = 1;  // without labels
  ExpectRefusedUntouched(Status::Code::kInvalidArgument);
  job_.gates = {};
  job_.validation.labels_path = dir_.File("labels.npy");
  job_.validation.paths.clear();  // labels without validation data
  ExpectRefusedUntouched(Status::Code::kInvalidArgument);
}

TEST_F(QuantizeJobTest, ModelIsRemovedWhenTheReportCannotBeWritten) {
  job_.report_path = dir_.File("missing/folder/r.json");
  ExpectRefusedUntouched(Status::Code::kOutputError);
  EXPECT_FALSE(Exists(dir_.File("out.onnx")));
}

TEST_F(QuantizeJobTest, FailingGateStillWritesModelAndReport) {
  constexpr double kUnreachableSqnrDb = 200;
  Validate();
  job_.gates.min_sqnr_db = kUnreachableSqnrDb;
  Result<QuantizeJobResult> r = RunQuantizeJob(job_, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->gates_passed);
  ASSERT_FALSE(r->gates.empty());
  for (const GateResult& g : r->gates) {
    EXPECT_EQ(g.gate, "min-sqnr");
    EXPECT_FALSE(g.passed);
    EXPECT_EQ(g.bound, kUnreachableSqnrDb);
  }
  EXPECT_TRUE(Exists(dir_.File("out.onnx")));
  EXPECT_TRUE(Exists(dir_.File("out.report.json")));
  EXPECT_FALSE(r->report["validation"].is_null());
}

TEST(QuantizeJobEventsTest, InfoReceivesTheBatchNormFoldings) {
  testing::TempDir dir;
  QuantizeJob job;
  job.model_path = testing::ModelsDir() + "/fashion_cnn.onnx";
  job.output_path = dir.File("q.onnx");
  job.quantize.weights_only = true;
  std::vector<std::string> info;
  QuantizeJobEvents events;
  events.info = [&info](const std::string& m) { info.push_back(m); };
  Result<QuantizeJobResult> r = RunQuantizeJob(job, events);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int folded = 0;
  for (const std::string& m : info) folded += Mentions(m, "folded BatchNormalization");
  EXPECT_EQ(folded, 2);
  EXPECT_EQ(r->report["transformations"].size(), 2u);
}

}  // namespace
}  // namespace pq
