// Tests of BuildAttestation (src/report/attestation.cc) on hand-made reports:
// digests the report holds are reused (a wrong one shows through), others are
// computed; folders get a uri; a tokenizer named twice is listed once;
// a subject that cannot be read back is an output error.
#include "pq/attestation.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;
using testing::TempDir;

std::string Sha(const std::string& text) { return Sha256Bytes(text.data(), text.size()); }

struct Fixture {
  TempDir dir;
  Json report;
  AttestationInputs in;

  Fixture() {
    testing::WriteFile(dir.File("out.gguf"), "gguf bytes");
    testing::WriteFile(dir.File("out.report.json"), "{}\n");
    testing::WriteFile(dir.File("labels.npy"), "labels");
    std::filesystem::create_directory(dir.File("test_data_set_0"));
    report = {{"command", {"pq", "quantize"}},
              {"input_model", {{"path", "in.onnx"}, {"sha256", "aa"}, {"external_data", {{{"path", "in.data"}, {"sha256", "bb"}}}}}},
              {"output_model", {{"path", dir.File("out.onnx")}, {"sha256", "from-report"}, {"external_data", Json::array()}}},
              {"tokenizer", {{"path", "tok.model"}, {"sha256", "cc"}}},
              {"config", {{"scheme", "int8-sym"}, {"granularity", "per-channel"}}},
              {"calibration",
               {{"files",
                 {{{"path", "calib.npy"}, {"sha256", "dd"}, {"tokens", {{"tokenizer", "tok.model"}, {"tokenizer_sha256", "cc"}}}},
                  {{"path", dir.File("test_data_set_0")}, {"sha256", nullptr}}}}}}};
    in.report = &report;
    in.report_path = dir.File("out.report.json");
    in.started_on = "2024-01-01T00:00:00Z";
    in.finished_on = "2024-01-01T00:00:05Z";
  }
};

TEST(AttestationTest, ReportDigestsAreReusedAndOthersComputed) {
  Fixture f;
  f.in.subjects = {f.dir.File("out.onnx"), f.dir.File("out.gguf")};  // out.onnx is not on disk
  Result<Json> statement = BuildAttestation(f.in);
  ASSERT_TRUE(statement.ok()) << statement.status().ToString();
  const Json& subject = statement.value()["subject"];
  EXPECT_EQ(subject[0], (Json{{"name", "out.onnx"}, {"digest", {{"sha256", "from-report"}}}}));
  EXPECT_EQ(subject[1]["digest"]["sha256"], Sha("gguf bytes"));
  const Json& byproduct = statement.value()["predicate"]["runDetails"]["byproducts"][0];
  EXPECT_EQ(byproduct["digest"]["sha256"], Sha("{}\n"));
  EXPECT_EQ(byproduct["mediaType"], "application/json");
  EXPECT_EQ(statement.value()["predicate"]["runDetails"]["metadata"]["finishedOn"], "2024-01-01T00:00:05Z");
}

TEST(AttestationTest, DependenciesInOrderEachOnceFoldersByUri) {
  Fixture f;
  f.in.subjects = {f.dir.File("out.gguf")};
  f.in.validation_files = {f.dir.File("labels.npy")};
  Result<Json> statement = BuildAttestation(f.in);
  ASSERT_TRUE(statement.ok()) << statement.status().ToString();
  const Json& deps = statement.value()["predicate"]["buildDefinition"]["resolvedDependencies"];
  std::vector<std::string> names, roles;
  for (const Json& d : deps) {
    names.push_back(d["name"]);
    roles.push_back(d["annotations"]["role"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"in.onnx", "in.data", "calib.npy", "tok.model",
                                             f.dir.File("test_data_set_0"), f.dir.File("labels.npy")}));
  EXPECT_EQ(roles, (std::vector<std::string>{"model", "external_data", "calibration", "tokenizer", "calibration",
                                             "validation"}));
  EXPECT_EQ(deps[1]["digest"]["sha256"], "bb");
  EXPECT_FALSE(deps[4].contains("digest"));
  EXPECT_EQ(deps[4]["uri"], "file://" + f.dir.File("test_data_set_0"));
  EXPECT_EQ(deps[5]["digest"]["sha256"], Sha("labels"));
  const Json& external = statement.value()["predicate"]["buildDefinition"]["externalParameters"];
  EXPECT_EQ(external["scheme"], "int8-sym");
  EXPECT_EQ(external["options"]["granularity"], "per-channel");
  EXPECT_EQ(external["command"], (Json{"pq", "quantize"}));
}

TEST(AttestationTest, UnreadableSubjectIsAnOutputError) {
  Fixture f;
  f.in.subjects = {f.dir.File("missing.gguf")};
  Result<Json> statement = BuildAttestation(f.in);
  ASSERT_FALSE(statement.ok());
  EXPECT_EQ(statement.status().code(), Status::Code::kOutputError);
  EXPECT_NE(statement.status().message().find("missing.gguf"), std::string::npos);
}

TEST(AttestationTest, WriteRefusesAnExistingFileWithoutForce) {
  Fixture f;
  f.in.subjects = {f.dir.File("out.gguf")};
  testing::WriteFile(f.dir.File("a.json"), "keep");
  Status refused = WriteAttestation(f.in, f.dir.File("a.json"), /*force=*/false);
  EXPECT_EQ(refused.code(), Status::Code::kOutputError);
  EXPECT_EQ(testing::ReadFile(f.dir.File("a.json")), "keep");
  ASSERT_TRUE(WriteAttestation(f.in, f.dir.File("a.json"), /*force=*/true).ok());
  EXPECT_EQ(Json::parse(testing::ReadFile(f.dir.File("a.json")))["_type"], kInTotoStatementType);
}

}  // namespace
}  // namespace pq
