// End-to-end tests of `pq quantize … --attestation FILE` (src/report/attestation.cc
// through src/pipeline/quantize_job.cc and gguf_job.cc): an in-toto Statement
// v1 with SLSA provenance v1 whose subjects are the written files with their
// sha256, whose dependencies are the inputs with theirs and whose byproduct
// is the report; reproducible under SOURCE_DATE_EPOCH; refused over an
// existing file before any work; nothing left when it cannot be written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "pq/attestation.h"
#include "pq/version.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitOk;
using testing::kExitOutput;
using testing::ReadFile;
using testing::RunPq;
using testing::TempDir;

std::string Models(const std::string& file) { return testing::ModelsDir() + "/" + file; }

std::string Sha256(const std::string& path) {
  Result<std::string> sha = Sha256File(path);
  EXPECT_TRUE(sha.ok()) << path;
  return sha.ok() ? sha.value() : "";
}

// The dependency named `name` in the statement, or null.
nlohmann::json Dependency(const nlohmann::json& statement, const std::string& name) {
  for (const auto& d : statement["predicate"]["buildDefinition"]["resolvedDependencies"]) {
    if (d["name"] == name) return d;
  }
  return nullptr;
}

std::vector<std::string> CnnCommand(const TempDir& dir) {
  return {"-q", "quantize", Models("fashion_cnn.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
          "--calib", Models("calib_images.npy"), "--calib-samples", "8", "--external-data",
          "--attestation", dir.File("q.intoto.json")};
}

TEST(AttestationCliTest, StatementNamesOutputsInputsAndReportWithTheirDigests) {
  TempDir dir;
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  CliRun run = RunPq(CnnCommand(dir));
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const std::string text = ReadFile(dir.File("q.intoto.json"));
  const auto statement = nlohmann::json::parse(text);
  EXPECT_EQ(statement["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(statement["predicateType"], "https://slsa.dev/provenance/v1");

  // Subjects: the model and its external data, as written.
  ASSERT_EQ(statement["subject"].size(), 2u) << text;
  EXPECT_EQ(statement["subject"][0]["name"], "q.onnx");
  EXPECT_EQ(statement["subject"][0]["digest"]["sha256"], Sha256(dir.File("q.onnx")));
  EXPECT_EQ(statement["subject"][1]["name"], "q.onnx.data");
  EXPECT_EQ(statement["subject"][1]["digest"]["sha256"], Sha256(dir.File("q.onnx.data")));

  const auto& build = statement["predicate"]["buildDefinition"];
  EXPECT_EQ(build["buildType"], kAttestationBuildType);
  EXPECT_EQ(build["externalParameters"]["scheme"], "int8-sym");
  EXPECT_EQ(build["externalParameters"]["options"]["calibration"]["samples_limit"], 8);
  const auto& command = build["externalParameters"]["command"];
  EXPECT_NE(std::find(command.begin(), command.end(), "--external-data"), command.end()) << command;
  const auto model = Dependency(statement, Models("fashion_cnn.onnx"));
  ASSERT_FALSE(model.is_null()) << text;
  EXPECT_EQ(model["digest"]["sha256"], Sha256(Models("fashion_cnn.onnx")));
  EXPECT_EQ(model["annotations"]["role"], "model");
  const auto calib = Dependency(statement, Models("calib_images.npy"));
  ASSERT_FALSE(calib.is_null()) << text;
  EXPECT_EQ(calib["digest"]["sha256"], Sha256(Models("calib_images.npy")));
  EXPECT_EQ(calib["annotations"]["role"], "calibration");

  const auto& details = statement["predicate"]["runDetails"];
  EXPECT_EQ(details["builder"]["id"], kAttestationBuilderId);
  EXPECT_EQ(details["builder"]["version"]["pq"], kVersion);
  EXPECT_EQ(details["metadata"]["startedOn"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(details["metadata"]["finishedOn"], "2023-11-14T22:13:20Z");
  ASSERT_EQ(details["byproducts"].size(), 1u);
  EXPECT_EQ(details["byproducts"][0]["name"], dir.File("q.report.json"));
  EXPECT_EQ(details["byproducts"][0]["digest"]["sha256"], Sha256(dir.File("q.report.json")));

  // The same work under SOURCE_DATE_EPOCH gives the same statement.
  for (const char* file : {"q.onnx", "q.onnx.data", "q.report.json", "q.intoto.json"}) {
    std::filesystem::remove(dir.File(file));
  }
  CliRun rerun = RunPq(CnnCommand(dir));
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(rerun.exit_code, kExitOk) << rerun.err;
  EXPECT_EQ(ReadFile(dir.File("q.intoto.json")), text);
}

TEST(AttestationCliTest, ValidationDataIsADependency) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Models("fashion_cnn.onnx"), "-o", dir.File("q.onnx"), "--calib",
                      Models("calib_images.npy"), "--calib-samples", "8", "--validate", Models("val_images.npy"),
                      "--labels", Models("val_labels.npy"), "--attestation", dir.File("a.json")});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const auto statement = nlohmann::json::parse(ReadFile(dir.File("a.json")));
  for (const char* file : {"val_images.npy", "val_labels.npy"}) {
    const auto d = Dependency(statement, Models(file));
    ASSERT_FALSE(d.is_null()) << file;
    EXPECT_EQ(d["digest"]["sha256"], Sha256(Models(file)));
    EXPECT_EQ(d["annotations"]["role"], "validation");
  }
  EXPECT_EQ(statement["subject"].size(), 1u);
}

TEST(AttestationCliTest, ExistingFileIsRefusedBeforeAnyWork) {
  TempDir dir;
  testing::WriteFile(dir.File("q.intoto.json"), "keep");
  ExpectRefusal(RunPq(CnnCommand(dir)), kExitOutput, "q.intoto.json");
  EXPECT_EQ(ReadFile(dir.File("q.intoto.json")), "keep");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"q.intoto.json"});
  // Nor may it be the report.
  ExpectRefusal(RunPq({"quantize", Models("fashion_cnn.onnx"), "-o", dir.File("r.onnx"), "--weights-only",
                       "--attestation", dir.File("r.report.json")}),
                kExitOutput, "another output");
}

TEST(AttestationCliTest, UnwritableFileLeavesNothingBehind) {
  TempDir dir;
  ExpectRefusal(RunPq({"-q", "quantize", Models("fashion_cnn.onnx"), "-o", dir.File("q.onnx"), "--weights-only",
                       "--external-data", "--attestation", dir.File("no/such/dir/a.json")}),
                kExitOutput, "a.json");
  EXPECT_EQ(dir.List(), std::vector<std::string>{});
}

TEST(AttestationCliTest, GgufOutputIsTheSubject) {
  TempDir dir;
  const std::string tiny = testing::ModelsDir() + "/tiny_llm/";
  CliRun run = RunPq({"-q", "quantize", tiny + "tiny_llm_optimum.onnx", "-o", dir.File("t.gguf"), "--scheme",
                      "gguf-q8_0", "--tokenizer", tiny + "tokenizer.model", "--attestation", dir.File("t.json")});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const auto statement = nlohmann::json::parse(ReadFile(dir.File("t.json")));
  ASSERT_EQ(statement["subject"].size(), 1u);
  EXPECT_EQ(statement["subject"][0]["name"], "t.gguf");
  EXPECT_EQ(statement["subject"][0]["digest"]["sha256"], Sha256(dir.File("t.gguf")));
  const auto tokenizer = Dependency(statement, tiny + "tokenizer.model");
  ASSERT_FALSE(tokenizer.is_null());
  EXPECT_EQ(tokenizer["digest"]["sha256"], Sha256(tiny + "tokenizer.model"));
  EXPECT_EQ(tokenizer["annotations"]["role"], "tokenizer");
  EXPECT_EQ(Dependency(statement, tiny + "tiny_llm_optimum.onnx")["digest"]["sha256"],
            Sha256(tiny + "tiny_llm_optimum.onnx"));
  EXPECT_EQ(statement["predicate"]["buildDefinition"]["externalParameters"]["scheme"], "gguf-q8_0");
  const auto& byproduct = statement["predicate"]["runDetails"]["byproducts"][0];
  EXPECT_EQ(byproduct["digest"]["sha256"], Sha256(dir.File("t.report.json")));
  // An existing statement is refused before the GGUF file is written.
  ExpectRefusal(RunPq({"quantize", tiny + "tiny_llm_optimum.onnx", "-o", dir.File("u.gguf"), "--scheme",
                       "gguf-q8_0", "--tokenizer", tiny + "tokenizer.model", "--attestation", dir.File("t.json")}),
                kExitOutput, "t.json");
  EXPECT_FALSE(std::filesystem::exists(dir.File("u.gguf")));
  // One that cannot be written takes the GGUF file and its report with it.
  ExpectRefusal(RunPq({"-q", "quantize", tiny + "tiny_llm_optimum.onnx", "-o", dir.File("v.gguf"), "--scheme",
                       "gguf-q8_0", "--tokenizer", tiny + "tokenizer.model", "--attestation",
                       dir.File("no/such/dir/v.json")}),
                kExitOutput, "v.json");
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"t.gguf", "t.json", "t.report.json"}));
}

}  // namespace
}  // namespace pq
