// `pq compare --groups`: accuracy and flips per group, the worst group named,
// the --max-group-drop gate (exit 4) and groups that do not fit (exit 3).
#include <gtest/gtest.h>

#include "testutil/cli_expect.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"
#include "validate/validate_test_util.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::RunPq;
using testing::TempDir;

// Six samples, two per class; the candidate moves class 0 to class 1.
void Prepare(const TempDir& dir) {
  testing::SaveProto(testing::ThreeClassModel({1, 0, 0, 0, 1, 0, 0, 0, 1}), dir.File("ref.onnx"));
  testing::SaveProto(testing::ThreeClassModel({1, 2, 0, 0, 1, 0, 0, 0, 1}), dir.File("cand.onnx"));
  testing::WriteFloatNpy(dir.File("x.npy"), {6, 3},
                         {1, .1f, .1f, 1, .1f, .1f, .1f, 1, .1f, .1f, 1, .1f, .1f, .1f, 1, .1f, .1f, 1});
  testing::WriteLabelsNpy(dir.File("y.npy"), {0, 0, 1, 1, 2, 2});
  testing::WriteLabelsNpy(dir.File("g.npy"), {1, 0, 0, 0, 0, 1});
  testing::WriteFile(dir.File("names.txt"), "adults\nminors\n");
}

TEST(GroupsCliTest, TheGroupDropGateNamesTheWorstGroupAndExits4) {
  TempDir dir;
  Prepare(dir);
  CliRun run = RunPq({"compare", dir.File("ref.onnx"), dir.File("cand.onnx"), "--data", dir.File("x.npy"),
                      "--labels", dir.File("y.npy"), "--groups", dir.File("g.npy"), "--group-names",
                      dir.File("names.txt"), "--max-group-drop", "10"});
  EXPECT_EQ(run.exit_code, testing::kExitGateFailed) << run.err;
  // minors: samples 0 and 5, of which sample 0 (class 0) flips: drop 50 points.
  EXPECT_NE(run.err.find("gate max-group-drop failed on output 'Y' (group minors): measured 50 points"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("worst group: minors"), std::string::npos) << run.out;
}

TEST(GroupsCliTest, QuantizeValidateRecordsGroupsInTheReportAndItsRendering) {
  TempDir dir;
  Prepare(dir);
  CliRun run = RunPq({"-q", "quantize", dir.File("ref.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                      "--weights-only", "--allow-unchanged", "--validate", dir.File("x.npy"), "--labels",
                      dir.File("y.npy"), "--groups", dir.File("g.npy"), "--group-names", dir.File("names.txt")});
  ASSERT_EQ(run.exit_code, testing::kExitOk) << run.err;
  const std::string report = testing::ReadFile(dir.File("q.report.json"));
  EXPECT_NE(report.find("\"per_group\""), std::string::npos);
  EXPECT_NE(report.find("\"worst_group\""), std::string::npos);
  CliRun md = RunPq({"report", dir.File("q.report.json"), "--format", "md"});
  ASSERT_EQ(md.exit_code, testing::kExitOk) << md.err;
  EXPECT_NE(md.out.find("Groups of output Y"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| adults |"), std::string::npos) << md.out;
}

TEST(GroupsCliTest, GroupsThatDoNotFitTheDataAreRefused) {
  TempDir dir;
  Prepare(dir);
  testing::WriteLabelsNpy(dir.File("short.npy"), {0, 1});
  testing::ExpectRefusal(RunPq({"compare", dir.File("ref.onnx"), dir.File("cand.onnx"), "--data",
                                dir.File("x.npy"), "--groups", dir.File("short.npy")}),
                         testing::kExitInvalidInput, "short.npy: 2 group ids for 6 samples");
  testing::ExpectRefusal(RunPq({"compare", dir.File("ref.onnx"), dir.File("cand.onnx"), "--data",
                                dir.File("x.npy"), "--groups", dir.File("g.npy"), "--max-group-drop", "1"}),
                         testing::kExitUsage, "--max-group-drop needs --labels");
}

}  // namespace
}  // namespace pq
