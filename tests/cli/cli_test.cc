// End-to-end tests of the pq binary: exit codes, one-line errors on stderr,
// results on stdout, and no output left behind by a refusal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "onnx/onnx_pb.h"
#include "pq/version.h"
#include "testutil/model_builder.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"

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


TEST(CliTest, VersionAndHelp) {
  CliRun version = RunPq({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  // The first line stays "pq VERSION" (scripts read it); then the build.
  EXPECT_EQ(version.out.substr(0, version.out.find('\n')), std::string("pq ") + kVersion);
  for (const char* line : {"\ncommit: ", "\nbuild type: ", "\ncompiled for: ", "\nthis CPU has: "}) {
    EXPECT_NE(version.out.find(line), std::string::npos) << line;
  }
  CliRun help = RunPq({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("inspect"), std::string::npos);
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos);
  CliRun sub_help = RunPq({"inspect", "--help"});
  EXPECT_EQ(sub_help.exit_code, 0);
  EXPECT_NE(sub_help.out.find("--json"), std::string::npos);
}

TEST(CliTest, UsageErrorsExitTwo) {
  ExpectRefusal(RunPq({"inspect", "--no-such-flag", "m.onnx"}), kExitUsage, "--no-such-flag");
  ExpectRefusal(RunPq({}), kExitUsage, "subcommand");
  ExpectRefusal(RunPq({"frobnicate"}), kExitUsage, "frobnicate");
  ExpectRefusal(RunPq({"--log-level", "loud", "inspect", "m.onnx"}), kExitUsage, "loud");
}

TEST(CliTest, InspectPrintsTextAndJson) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  CliRun text = RunPq({"inspect", dir.File("m.onnx")});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("matmul (MatMul) W float [4, 3]"), std::string::npos);
  EXPECT_EQ(text.err, "");
  CliRun json = RunPq({"inspect", dir.File("m.onnx"), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["nodes"]["total"], 2);
  EXPECT_EQ(RunPq({"inspect", dir.File("m.onnx"), "--json"}).out, json.out) << "not stable";
}

TEST(CliTest, InspectRefusesBadModelsWithExitThree) {
  TempDir dir;
  testing::WriteFile(dir.File("noise.onnx"), std::string("\x07\xff\x13garbage\x01\x02", 13));
  ExpectRefusal(RunPq({"inspect", dir.File("noise.onnx")}), kExitInvalidInput, "noise.onnx");
  ExpectRefusal(RunPq({"inspect", dir.File("missing.onnx")}), kExitInvalidInput, "missing.onnx");
  const std::string full = testing::TinyMatMulModel().SerializeAsString();
  testing::WriteFile(dir.File("cut.onnx"), full.substr(0, full.size() / 2));
  ExpectRefusal(RunPq({"inspect", dir.File("cut.onnx")}), kExitInvalidInput, "cut.onnx");
}

// A model whose weight W lives in an external file with the given entries.
void WriteExternalModel(const TempDir& dir, const std::string& location,
                        const std::string& offset, const std::string& length) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* w = proto.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = w->add_external_data();
  e->set_key("location");
  e->set_value(location);
  e = w->add_external_data();
  e->set_key("offset");
  e->set_value(offset);
  e = w->add_external_data();
  e->set_key("length");
  e->set_value(length);
  testing::SaveProto(proto, dir.File("m.onnx"));
}

TEST(CliTest, ExternalDataRefusalsExitThree) {
  struct Case {
    std::string location, offset, length, fragment;
  };
  TempDir outside;
  testing::WriteFile(outside.File("w.bin"), std::string(48, '\0'));
  const std::vector<Case> cases = {
      {"../w.bin", "0", "48", "contains '..'"},
      {outside.File("w.bin"), "0", "48", "absolute path"},
      {"link.bin", "0", "48", "symbolic link"},
      {"missing.bin", "0", "48", "does not exist"},
      {"w.bin", "16", "48", "past the end"},
      {"w.bin", "0", "44", "does not match"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    testing::WriteFile(dir.File("w.bin"), std::string(48, '\0'));
    ASSERT_EQ(symlink(outside.File("w.bin").c_str(), dir.File("link.bin").c_str()), 0);
    WriteExternalModel(dir, c.location, c.offset, c.length);
    SCOPED_TRACE(c.location + " " + c.offset + " " + c.length);
    ExpectRefusal(RunPq({"inspect", dir.File("m.onnx")}), kExitInvalidInput, c.fragment);
    ExpectRefusal(RunPq({"convert", dir.File("m.onnx"), "-o", dir.File("out.onnx")}),
                  kExitInvalidInput, c.fragment);
    EXPECT_FALSE(testing::Exists(dir.File("out.onnx")));
    EXPECT_EQ(dir.List(), (std::vector<std::string>{"link.bin", "m.onnx", "w.bin"}));
  }
}

TEST(CliTest, RawDataMismatchExitsThreeAndNamesTheTensor) {
  TempDir dir;
  onnx::ModelProto proto = testing::TinyMatMulModel();
  proto.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(40);
  testing::SaveProto(proto, dir.File("m.onnx"));
  ExpectRefusal(RunPq({"convert", dir.File("m.onnx"), "-o", dir.File("out.onnx")}),
                kExitInvalidInput, "initializer 'W'");
  EXPECT_FALSE(testing::Exists(dir.File("out.onnx")));
}

TEST(CliTest, ConvertRefusesToOverwriteInputOrExistingOutput) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  const std::string before = ReadFile(dir.File("m.onnx"));
  ExpectRefusal(RunPq({"convert", dir.File("m.onnx"), "-o", dir.File("m.onnx"), "--force"}),
                kExitOutput, "input model");
  EXPECT_EQ(ReadFile(dir.File("m.onnx")), before);
  testing::WriteFile(dir.File("out.onnx"), "existing");
  ExpectRefusal(RunPq({"convert", dir.File("m.onnx"), "-o", dir.File("out.onnx")}), kExitOutput,
                "--force");
  EXPECT_EQ(ReadFile(dir.File("out.onnx")), "existing");
  ExpectRefusal(RunPq({"convert", dir.File("m.onnx"), "-o", dir.File("nofolder/out.onnx")}),
                kExitOutput, "does not exist");
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"m.onnx", "out.onnx"}));
}

TEST(CliTest, ConvertToExternalDataAndBack) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  CliRun to_external = RunPq({"convert", dir.File("m.onnx"), "-o", dir.File("ext.onnx"),
                              "--external-data", "--external-threshold", "0", "--json"});
  ASSERT_EQ(to_external.exit_code, 0) << to_external.err;
  nlohmann::json doc = nlohmann::json::parse(to_external.out);
  EXPECT_EQ(doc["external_data"], dir.File("ext.onnx.data"));
  EXPECT_EQ(doc["external_data_bytes"], 64 + 12);  // W (48, padded to 64) then B (12)
  CliRun back = RunPq({"convert", dir.File("ext.onnx"), "-o", dir.File("back.onnx")});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(ReadFile(dir.File("back.onnx")), ReadFile(dir.File("m.onnx")));
}

TEST(CliTest, QuietSilencesWarningsButNotErrors) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(23, 8), dir.File("new.onnx"));
  CliRun loud = RunPq({"inspect", dir.File("new.onnx")});
  EXPECT_EQ(loud.exit_code, 0);
  EXPECT_NE(loud.err.find("newer than pq knows"), std::string::npos);
  CliRun quiet = RunPq({"-q", "inspect", dir.File("new.onnx")});
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
  ExpectRefusal(RunPq({"-q", "inspect", dir.File("missing.onnx")}), kExitInvalidInput, "missing");
}

}  // namespace
}  // namespace pq
