// `--junit FILE` on pq compare and pq quantize --validate: one testcase per
// gate, failures carrying the measured value and the bound; refused without
// validation or over an existing file.
#include <gtest/gtest.h>

#include "testutil/cli_expect.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"
#include "validate/lm_test_util.h"
#include "validate/validate_test_util.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::RunPq;
using testing::TempDir;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void Prepare(const TempDir& dir) {
  const std::vector<float> table = testing::BigramTable(11);
  std::vector<float> bad = table;
  for (int64_t v = 0; v < testing::kLmVocab; ++v) bad[static_cast<size_t>(v)] = v == 6 ? 10.0f : -5.0f;
  testing::SaveProto(testing::BigramDecoder(table), dir.File("ref.onnx"));
  testing::SaveProto(testing::BigramDecoder(bad), dir.File("bad.onnx"));
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 4 * 12; ++i) ids.push_back((i * 7 + i / 4) % testing::kLmVocab);
  testing::WriteInt64Npy(dir.File("tokens.npy"), {4, 12}, ids);
}

TEST(JunitCliTest, CompareWritesOneTestcasePerGateWithFailures) {
  TempDir dir;
  Prepare(dir);
  CliRun run = RunPq({"compare", dir.File("ref.onnx"), dir.File("bad.onnx"), "--data", dir.File("tokens.npy"),
                      "--max-kld", "0.01", "--max-ppl-increase", "1000", "--junit", dir.File("gates.xml")});
  EXPECT_EQ(run.exit_code, testing::kExitGateFailed) << run.err;
  const std::string xml = testing::ReadFile(dir.File("gates.xml"));
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
  EXPECT_EQ(Count(xml, "<testcase "), 2) << xml;
  EXPECT_EQ(Count(xml, "<failure "), 1) << xml;
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"max-kld on logits (mean)\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("message=\"gate max-kld failed on output &apos;logits&apos; (mean): measured "),
            std::string::npos)
      << xml;
  // An existing file is not replaced without --force, before any work.
  ExpectRefusal(RunPq({"compare", dir.File("ref.onnx"), dir.File("bad.onnx"), "--data", dir.File("tokens.npy"),
                       "--junit", dir.File("gates.xml")}),
                testing::kExitOutput, "already exists");
  CliRun forced = RunPq({"compare", dir.File("ref.onnx"), dir.File("ref.onnx"), "--data", dir.File("tokens.npy"),
                         "--junit", dir.File("gates.xml"), "--force"});
  EXPECT_EQ(forced.exit_code, testing::kExitOk) << forced.err;
  EXPECT_NE(testing::ReadFile(dir.File("gates.xml")).find("comparison (no gates set)"), std::string::npos);
}

TEST(JunitCliTest, QuantizeValidateWritesJunitAndNeedsValidation) {
  TempDir dir;
  Prepare(dir);
  CliRun run = RunPq({"-q", "quantize", dir.File("ref.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                      "--weights-only", "--validate", dir.File("tokens.npy"), "--max-kld", "0.5",
                      "--min-top1-agreement", "0.5", "--junit", dir.File("q.xml")});
  ASSERT_EQ(run.exit_code, testing::kExitOk) << run.err;
  const std::string xml = testing::ReadFile(dir.File("q.xml"));
  EXPECT_EQ(Count(xml, "<testcase "), 2) << xml;
  EXPECT_EQ(Count(xml, "<failure "), 0) << xml;
  ExpectRefusal(RunPq({"quantize", dir.File("ref.onnx"), "-o", dir.File("q2.onnx"), "--scheme", "int8-sym",
                       "--weights-only", "--junit", dir.File("q2.xml")}),
                testing::kExitUsage, "--junit");
  EXPECT_FALSE(testing::Exists(dir.File("q2.onnx")));
  EXPECT_FALSE(testing::Exists(dir.File("q2.xml")));
}

}  // namespace
}  // namespace pq
